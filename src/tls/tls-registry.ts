/**
 * Owns every listener's and cluster's TLS material across reloads, like the cluster manager
 * owns clusters: a reload that keeps a `tls:` section unchanged keeps its contexts, its
 * remembered sessions and its file watches. Files are watched like the config file (rename
 * and Kubernetes Secret symlink swaps included, see core/config-watcher.ts); a change
 * re-reads them and swaps in one assignment, or, when a file is bad, keeps the old ones
 * and says which file and why.
 */

import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import type { ClusterTlsConfig, ListenerTlsConfig } from '../config/tls-schema.js';
import { type ConfigWatcher, watchConfigFile } from '../core/config-watcher.js';
import type { Logger } from '../core/log.js';
import { expiresAt, type KeyPair } from './pem.js';
import { listenerTlsFiles, ServerTls, terminatedTls } from './server-tls.js';
import { clusterTlsFiles, UpstreamTls } from './upstream-tls.js';

type Material = ServerTls | UpstreamTls;

interface Entry {
  readonly material: Material;
  /** `listener NAME` / `cluster NAME`, for logs and metrics (the latest config's names). */
  owners: string[];
  watchers: ConfigWatcher[];
  /**
   * Each file's content read just before the material was loaded, until its watch starts:
   * a rotation between the load and the watch is then still noticed.
   */
  baseline: Map<string, Buffer> | undefined;
  /** A reload running, and whether files changed again meanwhile. */
  reloading: Promise<void> | undefined;
  again: boolean;
  /** Why the last re-read was refused (the old material still serves), else undefined. */
  lastError: string | undefined;
}

/** The TLS of one config generation, by listener and cluster name. */
export interface TlsGeneration {
  readonly listeners: ReadonlyMap<string, ServerTls>;
  readonly clusters: ReadonlyMap<string, UpstreamTls>;
  /** Entries by key, for commit(). */
  readonly entries: ReadonlyMap<string, Entry>;
}

/** One certificate in use, for the expiry metric and `portside validate`. */
export interface CertificateInUse {
  owner: string;
  file: string;
  serial: string;
  expiresAt: number;
}

export interface TlsRegistryOptions {
  log: Logger;
  /** Watch files for rotation (off for one-shot uses such as `validate`). */
  watch?: boolean;
  /** Quiet time after a file event before re-reading (tests shorten it). */
  debounceMs?: number;
}

/** Listeners with the same `tls:` share their certificates; each cluster has its own (its logs and sessions). */
function keyOf(
  kind: 'listener' | 'cluster',
  config: ListenerTlsConfig | ClusterTlsConfig,
  name = '',
): string {
  return `${kind}\u0000${name}\u0000${JSON.stringify(config)}`;
}

/** The files as they are now (a file that cannot be read has none: the load names it). */
async function readBaseline(files: string[]): Promise<Map<string, Buffer>> {
  const contents = await Promise.all(files.map((f) => readFile(f).catch(() => undefined)));
  const baseline = new Map<string, Buffer>();
  files.forEach((file, i) => {
    if (contents[i] !== undefined) baseline.set(file, contents[i]!);
  });
  return baseline;
}

export class TlsRegistry {
  private entries = new Map<string, Entry>();
  private readonly kept: Entry[] = [];
  private readonly log: Logger;

  constructor(private readonly options: TlsRegistryOptions) {
    this.log = options.log;
  }

  /** Loads what `config` adds; throws (naming the file) when a file is missing or bad. Changes nothing running. */
  async prepare(config: Config): Promise<TlsGeneration> {
    const entries = new Map<string, Entry>();
    const listeners = new Map<string, ServerTls>();
    const clusters = new Map<string, UpstreamTls>();
    const take = async (key: string, owner: string, files: string[], load: () => Promise<Material>) => {
      let entry = entries.get(key) ?? this.entries.get(key);
      if (!entry) {
        const baseline = await readBaseline(files);
        entry = {
          material: await load(),
          owners: [],
          watchers: [],
          baseline,
          reloading: undefined,
          again: false,
          lastError: undefined,
        };
      }
      if (!entries.has(key)) {
        entry.owners = [];
        entries.set(key, entry);
      }
      entry.owners.push(owner);
      return entry.material;
    };
    for (const l of config.listeners) {
      // Passthrough (protocol tls) never decrypts, and udp has no TLS: no certificates.
      const tls = terminatedTls(l);
      if (!tls) continue;
      listeners.set(
        l.name,
        (await take(keyOf('listener', tls), `listener ${l.name}`, listenerTlsFiles(tls), () =>
          ServerTls.load(tls),
        )) as ServerTls,
      );
    }
    for (const c of config.clusters) {
      if (!c.tls) continue;
      const tls = c.tls;
      const key = keyOf('cluster', tls, c.name);
      const isNew = !this.entries.has(key);
      clusters.set(
        c.name,
        (await take(key, `cluster ${c.name}`, clusterTlsFiles(tls), () =>
          UpstreamTls.load(tls, this.log.child({ cluster: c.name })),
        )) as UpstreamTls,
      );
      if (isNew && !tls.verify) {
        this.log.warn(
          { cluster: c.name },
          'cluster tls.verify is false: endpoint certificates are not checked',
        );
      }
    }
    return { listeners, clusters, entries };
  }

  /**
   * Certificates outside the config generations (the admin API's, fixed until a restart):
   * watched and reported like the others until close().
   */
  keep(owner: string, material: ServerTls): void {
    const entry: Entry = {
      material,
      owners: [owner],
      watchers: [],
      baseline: undefined,
      reloading: undefined,
      again: false,
      lastError: undefined,
    };
    this.kept.push(entry);
    if (this.options.watch !== false) void this.watch(entry);
  }

  /** The generation is running: watch what it added, forget what it no longer uses. */
  commit(generation: TlsGeneration): void {
    for (const [key, entry] of this.entries) {
      if (generation.entries.has(key)) continue;
      for (const watcher of entry.watchers) watcher.close();
      entry.watchers = [];
    }
    const previous = this.entries;
    this.entries = new Map(generation.entries);
    for (const [key, entry] of this.entries) {
      if (!previous.has(key) && this.options.watch !== false) void this.watch(entry);
    }
  }

  /** Every certificate (and key pair) in use now. */
  certificates(): CertificateInUse[] {
    const out: CertificateInUse[] = [];
    for (const entry of [...this.entries.values(), ...this.kept]) {
      const pairs = this.pairsOf(entry);
      for (const owner of entry.owners) {
        for (const pair of pairs) {
          out.push({
            owner,
            file: pair.certificateFile,
            serial: pair.leaf.serialNumber,
            expiresAt: expiresAt(pair.leaf),
          });
        }
      }
    }
    return out;
  }

  /** Files whose last change could not be used (the old material still serves), with the reason. */
  get errors(): { owners: string[]; error: string }[] {
    return [...this.entries.values(), ...this.kept]
      .filter((e) => e.lastError !== undefined)
      .map((e) => ({ owners: e.owners, error: e.lastError! }));
  }

  close(): void {
    for (const entry of [...this.entries.values(), ...this.kept])
      for (const watcher of entry.watchers) watcher.close();
    this.entries.clear();
    this.kept.length = 0;
  }

  private async watch(entry: Entry): Promise<void> {
    const watchers = await Promise.all(
      entry.material.files.map((file) =>
        watchConfigFile({
          file,
          log: this.log,
          kind: 'certificate',
          debounceMs: this.options.debounceMs,
          baseline: entry.baseline?.get(file),
          onChange: () => this.reload(entry),
        }),
      ),
    );
    entry.baseline = undefined;
    // Committed away (or closed) while the watches were being set up.
    if (![...this.entries.values(), ...this.kept].includes(entry)) for (const w of watchers) w.close();
    else entry.watchers = watchers;
  }

  /** Re-reads an entry's files; a change during the read reads them once more afterwards. */
  private reload(entry: Entry): void {
    if (entry.reloading) {
      entry.again = true;
      return;
    }
    entry.reloading = entry.material
      .reload()
      .then(() => {
        entry.lastError = undefined;
        const serials = this.pairsOf(entry).map((p) => p.leaf.serialNumber);
        this.log.info({ owners: entry.owners, serials }, 'TLS certificates reloaded');
      })
      .catch((error: Error) => {
        entry.lastError = error.message;
        this.log.error(
          { owners: entry.owners, err: error.message },
          `TLS files not reloaded, keeping the current certificates: ${error.message}`,
        );
      })
      .finally(() => {
        entry.reloading = undefined;
        if (entry.again) {
          entry.again = false;
          this.reload(entry);
        }
      });
  }

  private pairsOf(entry: Entry): readonly KeyPair[] {
    return entry.material instanceof ServerTls ? entry.material.current.pairs : entry.material.pairs;
  }
}
