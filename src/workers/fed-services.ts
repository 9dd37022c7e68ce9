/**
 * The Service catalog in a worker thread reads the main thread's Service tables instead of
 * watching the API server: the main thread posts each scope's Services (whole at an apply or
 * a relist, then what changed), so N workers add no watch. The worker's catalog resolves
 * Hosts and builds clusters from these as a single process does from its watches.
 */
import type { ServiceScope, ServiceScopes } from '../core/catalog.js';
import type { ServiceInfo } from '../discovery/kubernetes/objects.js';
import { type Scope, scopeId } from '../discovery/kubernetes/scope-watch.js';
import type { ScopeReader } from '../discovery/kubernetes/watches.js';
import type { ServiceTable } from './messages.js';

class FedScope implements ServiceScope {
  readonly services = new Map<string, { service: ServiceInfo }>();
  readonly readers = new Set<ScopeReader>();
  readonly lastError = undefined;
  synced = false;

  constructor(readonly scope: Scope) {}

  isSynced(): boolean {
    return this.synced;
  }
}

export class FedServiceScopes implements ServiceScopes {
  private readonly scopes = new Map<string, FedScope>();

  watchScope(scope: Scope, reader: ScopeReader): FedScope {
    const fed = this.scopeOf(scope);
    fed.readers.add(reader);
    if (fed.synced) setImmediate(() => reader.synced());
    return fed;
  }

  unwatchScope(scope: ServiceScope, reader: ScopeReader): void {
    this.scopes.get(scopeId(scope.scope))?.readers.delete(reader);
  }

  /** `replace`: every table (an apply), so scopes the config dropped are forgotten. */
  update(tables: ServiceTable[], replace = false): void {
    const seen = new Set<string>();
    for (const table of tables) {
      const fed = this.scopeOf(table.scope);
      seen.add(scopeId(table.scope));
      const changed = table.whole ? [...fed.services.keys()] : [];
      if (table.whole) fed.services.clear();
      for (const [id, service] of table.services) {
        if (service) fed.services.set(id, { service });
        else fed.services.delete(id);
        changed.push(id);
      }
      const listed = table.synced && (table.whole || !fed.synced);
      fed.synced = table.synced;
      for (const reader of fed.readers) {
        if (changed.length > 0) reader.changed(changed);
        if (listed) reader.synced();
      }
    }
    if (replace)
      for (const [id, fed] of this.scopes)
        if (!seen.has(id) && fed.readers.size === 0) this.scopes.delete(id);
  }

  private scopeOf(scope: Scope): FedScope {
    const id = scopeId(scope);
    let fed = this.scopes.get(id);
    if (!fed) {
      fed = new FedScope(scope);
      this.scopes.set(id, fed);
    }
    return fed;
  }
}
