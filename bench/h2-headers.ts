/**
 * Micro-benchmark: what Portside's HTTP/2 header translation costs per proxied request, step
 * by step, for the requests of the h2 scenarios (h2load's GET and a grpc-js-like unary call)
 * and their responses: the client's block → RequestHead (as HTTP/1.1 text, parsed by the
 * strict parser), the forwarding rules writing the upstream head text, that text → the
 * upstream's header block; the upstream's response block → ResponseHead (text, parsed) →
 * the client's block; trailers. Measures only our code, not nghttp2 or node:http2.
 * Usage: node --import tsx bench/h2-headers.ts [--iterations N]
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { parseArgs } from 'node:util';
import {
  fieldsOf,
  h2RequestHeaders,
  h2ResponseHeaders,
  responseHeadFromH2,
  trailerHeaders,
} from '../src/l7/h2/header-blocks.js';
import { requestHeadFromH2 } from '../src/l7/h2/request-head.js';
import { HeaderEdits, upstreamRequestHead } from '../src/l7/headers.js';

interface Case {
  label: string;
  /** The client's request block as node:http2 gives it: headers and rawHeaders. */
  request: string[];
  endStream: boolean;
  response: string[];
  trailers: string[];
}

const CASES: Case[] = [
  {
    label: 'h2c GET /small (h2load)',
    request: [
      ...[':method', 'GET', ':path', '/small', ':scheme', 'http', ':authority', '127.0.0.1:8080'],
      ...['accept', '*/*', 'accept-encoding', 'gzip, deflate', 'user-agent', 'h2load nghttp2/1.52.0'],
    ],
    endStream: true,
    response: [
      ':status',
      '200',
      'content-type',
      'text/plain',
      'content-length',
      '24',
      'date',
      'Mon, 07 Dec 2026 01:40:00 GMT',
    ],
    trailers: [],
  },
  {
    label: 'gRPC unary (grpc-js headers)',
    request: [
      ...[
        ':method',
        'POST',
        ':path',
        '/portside.bench.Bench/Unary',
        ':scheme',
        'http',
        ':authority',
        '127.0.0.1:8080',
      ],
      ...[
        'grpc-accept-encoding',
        'identity,deflate,gzip',
        'accept-encoding',
        'identity',
        'grpc-timeout',
        '9999m',
      ],
      ...['user-agent', 'grpc-node-js/1.14.7', 'content-type', 'application/grpc', 'te', 'trailers'],
    ],
    endStream: false,
    response: [
      ':status',
      '200',
      'content-type',
      'application/grpc',
      'grpc-accept-encoding',
      'identity,deflate,gzip',
      'date',
      'Mon, 07 Dec 2026 01:40:00 GMT',
    ],
    trailers: ['grpc-status', '0', 'grpc-message', ''],
  },
];

function block(raw: string[]): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) out[raw[i]!] = raw[i + 1]!;
  return out;
}

/** Nanoseconds per call of `fn`, best of five rounds (the least disturbed by other work). */
function time(iterations: number, fn: () => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  let sink: unknown;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink = fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / iterations);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return best;
}

const { values } = parseArgs({ options: { iterations: { type: 'string' } } });
const iterations = Number(values.iterations ?? 200_000);
const context = {
  clientAddress: '127.0.0.1',
  host: '127.0.0.1:8080',
  edits: HeaderEdits.NONE,
  upgrade: false,
  teTrailers: true,
};

for (const c of CASES) {
  const headers = block(c.request);
  const response = block(c.response);
  const trailers = block(c.trailers);
  const head = requestHeadFromH2(headers, c.request, c.endStream).head!;
  const text = upstreamRequestHead(head, headers[':path'] as string, context);
  const responseHead = responseHeadFromH2(response, c.response)!;
  const steps: [string, () => unknown][] = [
    ['client block → RequestHead', () => requestHeadFromH2(headers, c.request, c.endStream)],
    ['forwarding rules → head text', () => upstreamRequestHead(head, headers[':path'] as string, context)],
    ['head text → upstream block', () => h2RequestHeaders(text)],
    ['upstream response block → ResponseHead', () => responseHeadFromH2(response, c.response)],
    ['ResponseHead → client block', () => h2ResponseHeaders(responseHead, HeaderEdits.NONE, true)],
    ['trailers', () => trailerHeaders(fieldsOf(trailers))],
  ];
  console.log(`\n${c.label}`);
  let total = 0;
  for (const [label, fn] of steps) {
    const ns = time(iterations, fn);
    total += ns;
    console.log(`  ${label.padEnd(42)} ${(ns / 1000).toFixed(2).padStart(6)} µs`);
  }
  console.log(`  ${'total per proxied request'.padEnd(42)} ${(total / 1000).toFixed(2).padStart(6)} µs`);
}
