/**
 * The Kubernetes API double in its own process for bench/discovery-scale.ts, so that the
 * memory measured there is Portside's alone. Talks to the parent over IPC.
 */
import { endpointSlice, KubeApiDouble } from '../test/helpers/kube-api-double.js';

export interface DoubleCommand {
  type: 'change';
  service: number;
  /** Third octet of the replacement endpoint's address, to make each change unique. */
  generation: number;
}

const services = Number(process.argv[2] ?? 10_000);
const perService = Number(process.argv[3] ?? 10);

export function serviceName(i: number): string {
  return `svc-${i}`;
}

export function addressesOf(i: number, perService: number, generation = 0): string[] {
  return Array.from({ length: perService }, (_, j) =>
    j === 0 && generation > 0
      ? `10.250.${generation % 250}.${i % 250}`
      : `10.${Math.floor(i / 250) % 250}.${i % 250}.${j + 1}`,
  );
}

function slice(i: number, generation = 0) {
  return endpointSlice('bench', serviceName(i), `${serviceName(i)}-abcde`, {
    endpoints: addressesOf(i, perService, generation).map((a, j) => ({
      addresses: [a],
      nodeName: `node-${j % 5}`,
      zone: `zone-${j % 3}`,
    })),
  });
}

if (process.send) {
  const api = await new KubeApiDouble().start();
  for (let i = 0; i < services; i++) api.apply('endpointslices', slice(i));
  api.compact(); // watches then start from the list's resourceVersion without replaying history
  process.on('message', (command: DoubleCommand) => {
    if (command.type === 'change') api.apply('endpointslices', slice(command.service, command.generation));
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ port: api.port });
}
