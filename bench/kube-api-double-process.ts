/**
 * The Kubernetes API double in its own process for bench/discovery-scale.ts, so that the
 * proxy measured there shares nothing with it. Talks to the parent over IPC.
 *
 *   argv: services perService unused
 * `unused` more Services (one slice of `perService` endpoints each) that the config does not name.
 */
import { endpointSlice, KubeApiDouble } from '../test/helpers/kube-api-double.js';

export type DoubleCommand =
  /** Replaces one endpoint of a Service; `generation` makes each change unique. */
  { type: 'change'; service: number; generation: number } | { type: 'stats' };

export interface DoubleStats {
  lists: number;
  watches: number;
  connections: number;
}

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

if (process.send) {
  const services = Number(process.argv[2] ?? 10_000);
  const perService = Number(process.argv[3] ?? 10);
  const unused = Number(process.argv[4] ?? 0);
  const slice = (i: number, generation = 0) =>
    endpointSlice('bench', serviceName(i), `${serviceName(i)}-abcde`, {
      endpoints: addressesOf(i, perService, generation).map((a, j) => ({
        addresses: [a],
        nodeName: `node-${j % 5}`,
        zone: `zone-${j % 3}`,
      })),
    });
  const api = await new KubeApiDouble().start();
  for (let i = 0; i < services + unused; i++) api.apply('endpointslices', slice(i));
  api.compact(); // watches then start from the list's resourceVersion without replaying history
  process.on('message', (command: DoubleCommand) => {
    if (command.type === 'change') api.apply('endpointslices', slice(command.service, command.generation));
    if (command.type === 'stats') {
      const { lists, watches } = api.requests;
      process.send!({ lists, watches, connections: api.connections } satisfies DoubleStats);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ port: api.port });
}
