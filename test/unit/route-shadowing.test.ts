/**
 * The shadowed-route check compares a route only with earlier routes whose host can cover
 * it. It must find exactly what comparing with every earlier route finds.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { checkShadowedRoutes, covers } from '../../src/config/http-references.js';
import type { HttpListenerConfig } from '../../src/config/http-schema.js';

type Route = HttpListenerConfig['routes'][number];

const host = fc.constantFrom(
  undefined,
  '*',
  'a.example.com',
  'b.example.com',
  '*.example.com',
  '*.com',
  'x.a.example.com',
  '*.a.example.com',
);
const match = fc.record(
  {
    host,
    pathPrefix: fc.constantFrom(undefined, '/', '/api', '/api/v2'),
    methods: fc.constantFrom(undefined, ['GET'], ['GET', 'POST']),
  },
  { requiredKeys: [] },
);

function quadratic(routes: Route[]): string[] {
  const out: string[] = [];
  routes.forEach((route, r) => {
    const shadow = routes.slice(0, r).findIndex((earlier) => covers(earlier.match, route.match));
    if (shadow >= 0) out.push(`${r}<-${shadow}`);
  });
  return out;
}

it('finds the same shadowed routes as comparing with every earlier route', () => {
  fc.assert(
    fc.property(fc.array(match, { maxLength: 25 }), (matches) => {
      const routes = matches.map((m) => {
        const clean = Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
        return { match: clean, cluster: 'c' } as unknown as Route;
      });
      const listener = { routes } as unknown as HttpListenerConfig;
      const found = checkShadowedRoutes(listener, []).map((p) => {
        const r = p.path[1] as number;
        return `${r}<-${/routes\[(\d+)\]/.exec(p.message)![1]}`;
      });
      assert.deepEqual(found, quadratic(routes));
    }),
    { numRuns: 300 },
  );
});
