/**
 * Micro-benchmark: how long the L7 route table takes to find a request's route among
 * 1,000 routes (hosts, wildcard hosts, prefixes, exact paths, methods, headers, a few
 * regexes), for a request that matches the first route, one in the middle, the last
 * specific one, or only the catch-all; a 10-route table is shown for scale, and a table of
 * 1,000 routes that differ only by host (virtual hosting). Then what one regex match costs
 * with the RE2 engine routes use (re2js: linear time) against JS RegExp (backtracking, not
 * used), and what path normalisation adds to splitting a target.
 * Usage: node --import tsx bench/route-matching.ts [--iterations N]
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseArgs } from 'node:util';
import { RE2JS } from 're2js';
import { config as configSchema } from '../src/config/schema.js';
import { DEFAULT_PATH_OPTIONS } from '../src/l7/path-normalize.js';
import { compilePathRegex } from '../src/l7/path-regex.js';
import { RouteTable, splitTarget } from '../src/l7/route-table.js';

interface Request {
  label: string;
  method: string;
  host: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Route i of n: a mix of the match kinds real configs use; the last one is the catch-all. */
function route(i: number): Record<string, unknown> {
  switch (i % 4) {
    case 0:
      return { match: { host: `svc${i}.example.com`, pathPrefix: `/api/${i}/` }, cluster: 'web' };
    case 1:
      return { match: { pathPrefix: `/svc${i}/`, methods: ['GET', 'POST'] }, cluster: 'web' };
    case 2:
      return { match: { path: `/exact/${i}`, headers: { 'x-tenant': `t${i}` } }, cluster: 'web' };
    default:
      return i % 20 === 3
        ? { match: { pathRegex: `/re/${i}/[0-9]+` }, cluster: 'web' }
        : { match: { host: `*.zone${i}.example.com` }, cluster: 'web' };
  }
}

/** Route i of n when routes differ only by host; the last one is the catch-all. */
function hostRoute(i: number): Record<string, unknown> {
  return { match: { host: `host${i}.example.com` }, cluster: 'web' };
}

function table(count: number, kind: (i: number) => Record<string, unknown>): RouteTable {
  const routes = [
    ...Array.from({ length: count - 1 }, (_, i) => kind(i)),
    { match: { pathPrefix: '/' }, cluster: 'web' },
  ];
  const parsed = configSchema.parse({
    listeners: [{ name: 'web', address: '127.0.0.1:0', protocol: 'http', routes }],
    clusters: [{ name: 'web', endpoints: ['127.0.0.1:1'] }],
  });
  const listener = parsed.listeners[0]!;
  if (listener.protocol !== 'http') throw new Error('the schema did not produce an http listener');
  return new RouteTable(listener.routes);
}

/** A request that matches route i (built to match only that route and the catch-all). */
function requestFor(i: number, label: string): Request {
  const base = { label, method: 'GET', host: 'other.example.org', headers: {} as IncomingHttpHeaders };
  switch (i % 4) {
    case 0:
      return { ...base, host: `svc${i}.example.com`, url: `/api/${i}/users?page=2` };
    case 1:
      return { ...base, url: `/svc${i}/items/42` };
    case 2:
      return { ...base, url: `/exact/${i}`, headers: { 'x-tenant': `t${i}` } };
    default:
      return i % 20 === 3
        ? { ...base, url: `/re/${i}/12345` }
        : { ...base, host: `api.zone${i}.example.com`, url: '/anything' };
  }
}

/** Median nanoseconds per lookup over `rounds` timed rounds, after a warm-up round. */
function time(
  routes: RouteTable,
  request: Request,
  iterations: number,
  expectIndex: number,
  rounds = 5,
): number {
  const headers = { ...request.headers, host: request.host };
  const lookup = () => {
    const target = splitTarget(request.url, routes.paths)!;
    return routes.find(request.method, request.host, target.path, headers);
  };
  const found = lookup();
  if (found?.index !== expectIndex)
    throw new Error(`${request.label}: matched route ${found?.index}, expected ${expectIndex}`);
  const samples: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) lookup();
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    if (round > 0) samples.push(ns);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20000' } } });
const iterations = Number(values.iterations);
const row = (routes: string, request: Request, index: number, ns: number) =>
  `| ${routes} | ${request.label} (#${index}) | ${ns.toFixed(0)} | ${Math.round(1e9 / ns).toLocaleString('en-US')} |`;
const tables: { label: string; routes: RouteTable; cases: [Request, number][] }[] = [];
for (const count of [10, 1000]) {
  const middle = Math.floor(count / 2) - (Math.floor(count / 2) % 4);
  tables.push({
    label: String(count),
    routes: table(count, route),
    cases: [
      [requestFor(0, 'first route'), 0],
      [requestFor(middle, 'middle route'), middle],
      [requestFor(count - 2, 'last specific route'), count - 2],
      [
        {
          label: 'catch-all only',
          method: 'DELETE',
          host: 'nowhere.test',
          url: '/nothing/here',
          headers: {},
        },
        count - 1,
      ],
    ],
  });
}
tables.push({
  label: '1000 by host',
  routes: table(1000, hostRoute),
  cases: [
    [{ label: 'last host', method: 'GET', host: 'host998.example.com', url: '/x', headers: {} }, 998],
    [{ label: 'catch-all only', method: 'GET', host: 'nowhere.test', url: '/x', headers: {} }, 999],
  ],
});
// Warm up every table and case first, so that the first case timed does not pay for
// the JIT learning (and recompiling for) the other tables' shapes.
for (const { routes, cases } of tables) {
  for (const [request, index] of cases) time(routes, request, iterations, index, 1);
}
const rows: string[] = [];
for (const { label, routes, cases } of tables) {
  for (const [request, index] of cases)
    rows.push(row(label, request, index, time(routes, request, iterations, index)));
}
console.log(`Route matching, Node ${process.version}, ${iterations} lookups per round, median of 5 rounds\n`);
console.log('| routes | request matches | ns per lookup | lookups/s |');
console.log('| --- | --- | --- | --- |');
console.log(rows.join('\n'));

/** Median nanoseconds per call of `f` over 5 timed rounds, after a warm-up round. */
function timeCall(f: () => unknown, iterations: number): number {
  const samples: number[] = [];
  for (let round = 0; round <= 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) f();
    if (round > 0) samples.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

const REGEX_CASES: [string, string][] = [
  ['/re/[0-9]+', '/re/12345'],
  ['/users/[0-9]+/orders', '/users/42/orders'],
  ['/api/v[0-9]+/.*', '/api/v2/items/42/details'],
  ['/static/.*\\.(css|js|png)', '/static/app/main.bundle.js'],
  ['/[a-z]+/[^/]+/edit', '/posts/hello-world/edit'],
  ['/healthz', '/healthz'],
];
console.log('\nOne pathRegex match (ns), hit and miss (the path with /x in front)\n');
console.log('| pattern | route (re2js) hit | miss | JS RegExp hit | miss |');
console.log('| --- | --- | --- | --- | --- |');
for (const [source, path] of REGEX_CASES) {
  const route = compilePathRegex(source);
  const js = new RegExp(`^(?:${source})$`);
  const miss = `/x${path}`;
  if (!route.matches(path) || route.matches(miss) || !js.test(path))
    throw new Error(`${source}: wrong match`);
  const cells = [
    timeCall(() => route.matches(path), iterations),
    timeCall(() => route.matches(miss), iterations),
    timeCall(() => js.test(path), iterations),
    timeCall(() => js.test(miss), iterations),
  ];
  console.log(`| \`${source.replaceAll('|', '\\|')}\` | ${cells.map((ns) => ns.toFixed(0)).join(' | ')} |`);
}
const attack = `/files/${'a'.repeat(28)}c`;
const attackNs = timeCall(() => RE2JS.compile('/files/(a+)+b').testExact(attack), 1000);
console.log(
  `\n\`/files/(a+)+b\` against /files/ + 28 a + c: re2js ${(attackNs / 1000).toFixed(1)} µs (compile included); JS RegExp took 9.4 s.`,
);

console.log('\nsplitTarget with path normalisation (ns)\n');
console.log('| target | ns |');
console.log('| --- | --- |');
for (const target of ['/api/v1/users/42?page=2', '/svc12/items/42', '/public/./a/%7euser/../b?x=1']) {
  console.log(
    `| \`${target}\` | ${timeCall(() => splitTarget(target, DEFAULT_PATH_OPTIONS), iterations).toFixed(0)} |`,
  );
}
