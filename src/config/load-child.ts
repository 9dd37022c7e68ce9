/** The child process behind `loadConfigFileInChild`: loads one config file, sends the result, exits. */
import { loadConfigFile } from './load.js';

const file = process.argv[2];
if (file === undefined || process.send === undefined) {
  process.stderr.write('load-child: run by loadConfigFileInChild with a file and an IPC channel\n');
  process.exit(2);
}
const result = await loadConfigFile(file);
// The parent may be gone by now (stopped while it started): then there is nothing to say.
process.send(result, () => {
  if (process.connected) process.disconnect();
});
