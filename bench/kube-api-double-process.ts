/**
 * The Kubernetes API double in its own process for bench/discovery-scale.ts, so that the
 * proxy measured there shares nothing with it. Talks to the parent over IPC.
 *
 *   argv: services perService unused [catalogPort]
 * `unused` more Services (one slice of `perService` endpoints each) that the config does not name.
 * With `catalogPort` (catalog mode) every Service also has its Service object (port 80 `http`),
 * the named ones labelled `app.kubernetes.io/part-of: bench` for the catalog's selector, and
 * the endpoints are 127.x.y.z addresses whose target port `catalogPort` the bench serves.
 */
import { endpointSlice, KubeApiDouble, service } from '../test/helpers/kube-api-double.js';

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

/** The label the catalog's selector asks for in catalog mode. */
export const CATALOG_LABEL = 'app.kubernetes.io/part-of';

export function addressesOf(i: number, perService: number, generation = 0, first = 10): string[] {
  return Array.from({ length: perService }, (_, j) =>
    j === 0 && generation > 0
      ? `${first}.250.${generation % 250}.${i % 250}`
      : `${first}.${Math.floor(i / 250) % 250}.${i % 250}.${j + 1}`,
  );
}

if (process.send) {
  const services = Number(process.argv[2] ?? 10_000);
  const perService = Number(process.argv[3] ?? 10);
  const unused = Number(process.argv[4] ?? 0);
  const catalogPort = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
  const slice = (i: number, generation = 0) =>
    endpointSlice('bench', serviceName(i), `${serviceName(i)}-abcde`, {
      ...(catalogPort === undefined ? {} : { ports: [{ name: 'http', port: catalogPort }] }),
      endpoints: addressesOf(i, perService, generation, catalogPort === undefined ? 10 : 127).map((a, j) => ({
        addresses: [a],
        nodeName: `node-${j % 5}`,
        zone: `zone-${j % 3}`,
      })),
    });
  const api = await new KubeApiDouble().start();
  for (let i = 0; i < services + unused; i++) {
    api.apply('endpointslices', slice(i));
    if (catalogPort === undefined) continue;
    const labels = i < services ? { [CATALOG_LABEL]: 'bench' } : undefined;
    api.apply(
      'services',
      service('bench', serviceName(i), [{ name: 'http', port: 80, targetPort: 'http' }], labels),
    );
  }
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
