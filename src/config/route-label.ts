/**
 * How a route is named outside the config: its `name`, or its position and match
 * (`#0 pathPrefix=/api host=example.com`). The admin API lists routes by this label, and a
 * route's counters are kept under it, so they carry over a reload that keeps the route.
 */
export function routeLabel(route: { name?: string; match?: object }, index: number): string {
  return route.name ?? `#${index} ${describeMatch(route.match)}`;
}

/** `pathPrefix=/api host=example.com`, or `any` for a route that matches everything. */
function describeMatch(match: object | undefined): string {
  const parts = Object.entries(match ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length > 0 ? parts.join(' ') : 'any';
}
