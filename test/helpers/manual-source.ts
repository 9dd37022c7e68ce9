import type { DiscoveredEndpoint, DiscoverySource } from '../../src/discovery/source.js';

/**
 * A discovery source that answers only when the test says so, like a slow DNS server. It
 * still delivers after stop(), as a late callback could: its owner must ignore that.
 */
export class ManualSource implements DiscoverySource {
  synced = false;
  stopped = false;
  readonly description = 'manual';
  deliver: ((endpoints: DiscoveredEndpoint[]) => void) | undefined;

  start(onSnapshot: (endpoints: DiscoveredEndpoint[]) => void): void {
    this.deliver = onSnapshot;
  }

  stop(): void {
    this.stopped = true;
  }

  /** A snapshot of ready endpoints on 127.0.0.1 at these ports. */
  answer(...ports: number[]): void {
    this.answerEndpoints(ports.map((port) => ({ port })));
  }

  answerEndpoints(endpoints: { port: number; ready?: boolean }[]): void {
    this.deliver?.(endpoints.map((e) => ({ host: '127.0.0.1', weight: 1, locality: {}, ...e })));
    this.synced = true;
  }
}
