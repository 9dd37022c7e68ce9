import type { Endpoint, Locality } from '../core/endpoint.js';
import type { PickContext, Picker } from './picker.js';

/** `any` ignores locality; `prefer-local` tries this node, then this zone, then any; `local-only` this node only. */
export type LocalityMode = 'any' | 'prefer-local' | 'local-only';

export interface SelfLocalityConfig {
  name?: string | undefined;
  zone?: string | undefined;
}

/** Portside's own node and zone: the config's `node` section, else `NODE_NAME` / `ZONE` from the environment. */
export function resolveSelfLocality(
  config: SelfLocalityConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): Locality {
  const node = config.name ?? (env.NODE_NAME || undefined);
  const zone = config.zone ?? (env.ZONE || undefined);
  return { ...(node ? { node } : {}), ...(zone ? { zone } : {}) };
}

interface Tier {
  readonly select: (endpoint: Endpoint) => boolean;
  /** Each tier has its own picker so that each sees a stable array (hash rings, heaps, schedules). */
  readonly picker: Picker;
  endpoints: readonly Endpoint[];
}

/**
 * Topology-aware routing for any policy: the wrapped policy picks within the nearest tier
 * that has a usable endpoint. `local-only` is Kubernetes `internalTrafficPolicy: Local`: with
 * no usable endpoint on this node there is no pick (the connection fails fast). Without a
 * node name, `local-only` falls back to this zone; without either, nothing is local.
 */
export class LocalityPicker implements Picker {
  private seen: readonly Endpoint[] | undefined;
  private readonly tiers: Tier[] = [];

  constructor(mode: Exclude<LocalityMode, 'any'>, self: Locality, newPicker: () => Picker) {
    const onNode = (e: Endpoint) => self.node !== undefined && e.locality.node === self.node;
    const inZone = (e: Endpoint) => self.zone !== undefined && e.locality.zone === self.zone;
    const tier = (select: (e: Endpoint) => boolean): Tier => ({ select, picker: newPicker(), endpoints: [] });
    if (mode === 'prefer-local') {
      if (self.node !== undefined) this.tiers.push(tier(onNode));
      if (self.zone !== undefined) this.tiers.push(tier(inZone));
      this.tiers.push(tier(() => true));
    } else if (self.node !== undefined) this.tiers.push(tier(onNode));
    else if (self.zone !== undefined) this.tiers.push(tier(inZone));
  }

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    if (endpoints !== this.seen) {
      this.seen = endpoints;
      for (const tier of this.tiers) tier.endpoints = endpoints.filter(tier.select);
    }
    for (const tier of this.tiers) {
      if (tier.endpoints.length === 0) continue;
      const endpoint = tier.picker.pick(tier.endpoints, context);
      if (endpoint) return endpoint;
    }
    return undefined;
  }
}
