/** The worker thread behind `loadConfigFileInWorker`: loads one config file, posts the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfigFile } from './load.js';

const { file } = workerData as { file: string };
parentPort!.postMessage(await loadConfigFile(file));
