/** The child process behind `loadConfigFileInChild`: loads one config file, sends the result, exits. */
import { loadConfigFile } from './load.js';

const file = process.argv[2];
if (file === undefined || process.send === undefined) {
  process.stderr.write('load-child: run by loadConfigFileInChild with a file and an IPC channel\n');
  process.exit(2);
}
const result = await loadConfigFile(file);
process.send(result, () => process.disconnect());
