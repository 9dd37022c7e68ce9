/**
 * What a reload changes, as one log line: listeners, routes and clusters added (+),
 * removed (-) and changed (~), plus any other top-level setting that changed.
 */
import type { Config } from '../config/schema.js';

export interface SectionChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ConfigChanges {
  listeners: SectionChanges;
  routes: SectionChanges;
  clusters: SectionChanges;
  /** Other top-level keys whose value changed (drainTimeout, admin, ...). */
  settings: string[];
}

type Named = { name: string };

/** Routes of HTTP listeners, keyed `listener/route` (by index when a route has no name). */
function routesOf(config: Config): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const listener of config.listeners as (Named & { routes?: unknown })[]) {
    if (!Array.isArray(listener.routes)) continue;
    listener.routes.forEach((route: { name?: string }, i: number) => {
      out.set(`${listener.name}/${route?.name ?? i}`, route);
    });
  }
  return out;
}

const byName = (items: readonly Named[]) => new Map(items.map((item) => [item.name, item]));

function compare(before: Map<string, unknown>, after: Map<string, unknown>): SectionChanges {
  const changes: SectionChanges = { added: [], removed: [], changed: [] };
  for (const [key, value] of after) {
    if (!before.has(key)) changes.added.push(key);
    else if (!sameValue(before.get(key), value)) changes.changed.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.removed.push(key);
  return changes;
}

function sameValue(a: unknown, b: unknown): boolean {
  // Validated configs are plain data with keys in schema order, so JSON compares them exactly.
  return JSON.stringify(a) === JSON.stringify(b);
}

export function diffConfigs(before: Config | undefined, after: Config): ConfigChanges {
  const empty = { listeners: [], clusters: [] } as unknown as Config;
  const old = before ?? empty;
  const settings = Object.keys({ ...old, ...after }).filter(
    (key) =>
      key !== 'listeners' &&
      key !== 'clusters' &&
      before !== undefined &&
      !sameValue(old[key as keyof Config], after[key as keyof Config]),
  );
  return {
    listeners: compare(byName(old.listeners), byName(after.listeners)),
    routes: compare(routesOf(old), routesOf(after)),
    clusters: compare(byName(old.clusters), byName(after.clusters)),
    settings,
  };
}

export function hasChanges(changes: ConfigChanges): boolean {
  const sections = [changes.listeners, changes.routes, changes.clusters];
  return (
    changes.settings.length > 0 ||
    sections.some((s) => s.added.length + s.removed.length + s.changed.length > 0)
  );
}

/** `listeners +1 (api) ~1 (web); clusters -1 (old); settings ~drainTimeout`, or `no changes`. */
export function summarizeChanges(changes: ConfigChanges): string {
  const parts: string[] = [];
  for (const section of ['listeners', 'routes', 'clusters'] as const) {
    const c = changes[section];
    const words = (
      [
        ['+', c.added],
        ['-', c.removed],
        ['~', c.changed],
      ] as const
    )
      .filter(([, names]) => names.length > 0)
      .map(([sign, names]) => `${sign}${names.length} (${names.join(', ')})`);
    if (words.length > 0) parts.push(`${section} ${words.join(' ')}`);
  }
  if (changes.settings.length > 0) parts.push(`settings ~${changes.settings.join(', ~')}`);
  return parts.length > 0 ? parts.join('; ') : 'no changes';
}
