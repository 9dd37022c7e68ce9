import type { EndpointConfig } from '../config/schema.js';
import { parseAddress } from '../config/values.js';
import type { DiscoveredEndpoint, DiscoverySource } from './source.js';

/** Endpoints listed in the config file: one snapshot, delivered at start. */
export class StaticSource implements DiscoverySource {
  synced = false;
  readonly description = 'static';
  private readonly endpoints: DiscoveredEndpoint[];

  constructor(endpoints: readonly EndpointConfig[]) {
    this.endpoints = endpoints.map((e) => {
      const parsed = parseAddress(e.address);
      if (!parsed.ok) throw new Error(parsed.message);
      return {
        host: parsed.value.host,
        port: parsed.value.port,
        weight: e.weight,
        locality: { node: e.node, zone: e.zone },
      };
    });
  }

  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    onSnapshot(this.endpoints);
    this.synced = true;
  }

  stop(): void {}
}
