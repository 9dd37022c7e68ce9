import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ALLOWED, type Disagreement } from '../fixtures/h1-differential-allow.js';
import {
  NodeRequestOracle,
  NodeResponseOracle,
  type Outcome,
  portsideParseRequests,
  portsideParseResponse,
} from '../helpers/h1-oracles.js';

/**
 * Differential test of Portside's HTTP/1.1 codec against Node's llhttp: fast-check builds
 * request and response bytes, valid and mutated (framing, field syntax, chunking,
 * upgrades, pipelining), both read them, and any disagreement on accept/reject, method,
 * target, fields or body fails unless test/fixtures/h1-differential-allow.ts lists it.
 *
 * Reproduce a failure with the seed it prints: H1_DIFF_SEED=<seed> (and H1_DIFF_PATH=<path>
 * to jump to the counterexample); H1_DIFF_RUNS=<n> runs more cases.
 */
const SEED = process.env.H1_DIFF_SEED === undefined ? undefined : Number(process.env.H1_DIFF_SEED);
const PATH = process.env.H1_DIFF_PATH;
const RUNS = Number(process.env.H1_DIFF_RUNS ?? 250);

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 8 });
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
/** One byte that may break a line: controls, obs-text, separators. */
const oddByte = fc.constantFrom(
  '\0',
  '\r',
  '\n',
  '\t',
  ' ',
  '\x01',
  '\x7f',
  '\x80',
  '\xff',
  ':',
  '"',
  '(',
  '@',
);

/** Inserts `piece` into `text` at `at` (modulo its length + 1). */
const insert = (text: string, piece: string, at: number) => {
  const i = at % (text.length + 1);
  return text.slice(0, i) + piece + text.slice(i);
};

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH') },
  { weight: 1, arbitrary: fc.constantFrom('get', 'PROPFIND', 'M-SEARCH', 'QUERY', 'FOO', 'G(T', '') },
);
const target = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/', '/a/b?c=1&d', '/%20x', '/a#frag', "/~u/!$&'()*+,;=:@") },
  {
    weight: 2,
    arbitrary: fc.constantFrom('http://a.example/p?q', 'http://a.example?id=7', 'HTTP://A.EXAMPLE/', '*'),
  },
  { weight: 1, arbitrary: fc.constantFrom('a/b', '/a b', '/a\tb', '/\x80', '/\x7f', '/{}|\\^`', '//') },
  { weight: 2, arbitrary: printable.map((p) => `/${p.replaceAll(' ', '')}`) },
);
const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 2, arbitrary: fc.constant('HTTP/1.0') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1', 'HTTP/0.9', ''),
  },
);

type Field = [string, string];
const framingField: fc.Arbitrary<Field> = fc.oneof(
  fc.tuple(
    fc.constantFrom('Content-Length', 'content-length'),
    fc.constantFrom(
      '0',
      '3',
      '5',
      '005',
      '0005',
      '+5',
      '-1',
      '5 ',
      ' 5',
      '5,5',
      '5, 5',
      '5, 6',
      '0x5',
      '',
      '1 0',
      '99999999999999999',
    ),
  ),
  fc.tuple(
    fc.constantFrom('Transfer-Encoding', 'transfer-encoding'),
    fc.constantFrom(
      'chunked',
      'Chunked',
      'chunked ',
      'chunked, identity',
      'gzip, chunked',
      'identity',
      'gzip',
      'chunked,',
      'x chunked',
    ),
  ),
);
const knownField: fc.Arbitrary<Field> = fc.oneof(
  fc.tuple(fc.constant('Host'), fc.constantFrom('h', 'a.example:80', '', '[::1]:8080', 'a b', 'a/b')),
  fc.tuple(
    fc.constant('Connection'),
    fc.constantFrom('keep-alive', 'close', 'Upgrade', 'upgrade, keep-alive', 'x-hop'),
  ),
  fc.tuple(fc.constant('Upgrade'), fc.constantFrom('websocket', 'h2c', 'foo')),
  fc.tuple(fc.constant('Expect'), fc.constant('100-continue')),
  fc.tuple(
    fc.constantFrom('X-Forwarded-For', 'Cookie', 'Accept', 'X-A'),
    printable.map((v) => v.trim()),
  ),
);
const anyField: fc.Arbitrary<Field> = fc.tuple(
  token,
  printable.map((v) => v.trim()),
);

/** A field line, sometimes broken: space before the colon, obs-fold, bare LF/CR, an odd byte. */
const fieldLine = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: framingField },
      { weight: 3, arbitrary: knownField },
      { weight: 2, arbitrary: anyField },
    ),
    fc.oneof(
      { weight: 12, arbitrary: fc.constant('none') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'space-before-colon',
          'no-space',
          'tab-ows',
          'obs-fold',
          'bare-lf',
          'bare-cr',
          'no-name',
          'no-colon',
          'leading-space',
        ),
      },
      { weight: 1, arbitrary: fc.constant('odd-byte') },
    ),
    oddByte,
    fc.nat(),
  )
  .map(([[name, value], mutation, odd, at]) => {
    switch (mutation) {
      case 'space-before-colon':
        return `${name} : ${value}\r\n`;
      case 'no-space':
        return `${name}:${value}\r\n`;
      case 'tab-ows':
        return `${name}:\t${value}\t\r\n`;
      case 'obs-fold':
        return `${name}: ${value}\r\n folded\r\n`;
      case 'bare-lf':
        return `${name}: ${value}\n`;
      case 'bare-cr':
        return `${name}: ${value}\r`;
      case 'no-name':
        return `: ${value}\r\n`;
      case 'no-colon':
        return `${name} ${value}\r\n`;
      case 'leading-space':
        return ` ${name}: ${value}\r\n`;
      case 'odd-byte':
        return `${insert(`${name}: ${value}`, odd, at)}\r\n`;
      default:
        return `${name}: ${value}\r\n`;
    }
  });

/** A chunked body: sizes right or wrong, leading zeros, extensions, trailers, missing CRLFs. */
const chunkedBody = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '0', '\r', '\n'), minLength: 1, maxLength: 12 }),
        fc.constantFrom('', '', '', '00', ';a=b', ';a', ';a="b c"', '; a=b', ';a=b\x00', ' ', '\t;x'),
        fc.constantFrom('exact', 'exact', 'exact', 'upper', 'zeros', 'plus', 'short', 'long', 'no-crlf'),
      ),
      { maxLength: 3 },
    ),
    fc.constantFrom(
      '',
      '',
      'X-T: 1\r\n',
      'x-t:2\r\nY: 3\r\n',
      'no colon\r\n',
      ' folded: x\r\n',
      'X T: 1\r\n',
      ': v\r\n',
      'X-T: a\x00\r\n',
    ),
    fc.constantFrom('0', '0', '000', '0;e=1', '00000000000000000000'),
  )
  .map(([chunks, trailers, last]) => {
    let out = '';
    for (const [data, extension, sizeForm] of chunks) {
      let size = data.length.toString(16);
      if (sizeForm === 'upper') size = size.toUpperCase();
      else if (sizeForm === 'zeros') size = `000${size}`;
      else if (sizeForm === 'plus') size = `+${size}`;
      else if (sizeForm === 'short') size = (data.length - 1).toString(16);
      else if (sizeForm === 'long') size = (data.length + 1).toString(16);
      out += `${size}${extension}\r\n${data}${sizeForm === 'no-crlf' ? '' : '\r\n'}`;
    }
    return `${out}${last}\r\n${trailers}\r\n`;
  });

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('x', 'y', '\r', '\n', '0'), maxLength: 8 }) },
  { weight: 3, arbitrary: chunkedBody },
);

/** One request: a request line, 0-6 field lines (mostly with a Host), a body. */
const requestMessage = fc
  .tuple(
    method,
    target,
    version,
    fc.oneof(
      { weight: 20, arbitrary: fc.constant(' ') },
      { weight: 1, arbitrary: fc.constantFrom('  ', '\t') },
    ),
    fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    fc.array(fieldLine, { maxLength: 6 }),
    body,
    fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r\n\r\n'),
  )
  .map(([m, t, v, sp, host, lines, b, endOfHead]) => {
    const hostLine = host ? 'Host: h\r\n' : '';
    return `${m}${sp}${t} ${v}\r\n${hostLine}${lines.join('')}${endOfHead}${b}`;
  });

/** 1-3 pipelined requests, sometimes after empty lines, sometimes cut short. */
const requestBytes = fc
  .tuple(
    fc.array(requestMessage, { minLength: 1, maxLength: 3 }),
    fc.constantFrom('', '', '', '\r\n', '\r\n\r\n'),
    fc.option(fc.nat(), { freq: 8 }),
  )
  .map(([messages, leading, cut]) => {
    const text = leading + messages.join('');
    return cut === null ? text : text.slice(0, cut % (text.length + 1));
  });

/** A response: status line, fields, body (close-delimited when neither framing is given). */
const responseBytes = fc
  .tuple(
    fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2', 'http/1.1'),
    fc.constantFrom(
      '200',
      '200',
      '204',
      '304',
      '404',
      '500',
      '100',
      '199',
      '099',
      '2000',
      '20',
      '600',
      '999',
    ),
    fc.constantFrom(' OK', ' OK', '', ' ', ' Not Found', ' \x80x', ' a\tb', 'x', ' O\x01K'),
    fc.array(fieldLine, { maxLength: 6 }),
    body,
    fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
  )
  .map(
    ([v, status, reason, lines, b, endOfHead]) =>
      `${v} ${status}${reason}\r\n${lines.join('')}${endOfHead}${b}`,
  );

/** Where two outcomes first differ: the message index, or undefined when they agree. */
function firstDifference(ours: Outcome, theirs: Outcome, side: 'request' | 'response'): number | undefined {
  const count = Math.max(ours.messages.length, theirs.messages.length);
  for (let i = 0; i < count; i++) {
    if (JSON.stringify(ours.messages[i]) !== JSON.stringify(theirs.messages[i])) return i;
  }
  // Bytes after a message that closes the connection are never served: for a request, whether
  // llhttp calls them "data after close" or a parse error is the same; for a response they do
  // not matter at all.
  const end = (o: Outcome) => (o.end !== 'closed' ? o.end : side === 'response' ? 'clean' : 'error');
  return end(ours) === end(theirs) ? undefined : count;
}

function disagreement(
  side: 'request' | 'response',
  input: string,
  portside: Outcome,
  llhttp: Outcome,
  method?: string,
): string | undefined {
  const at = firstDifference(portside, llhttp, side);
  if (at === undefined) return undefined;
  const d: Disagreement = {
    side,
    input,
    method,
    portside,
    llhttp,
    at,
    ours: portside.messages[at],
    theirs: llhttp.messages[at],
  };
  if (ALLOWED.some((a) => a.matches(d))) return undefined;
  return [
    `Portside and llhttp disagree on this ${side}${method ? ` (to a ${method})` : ''}, message ${at}:`,
    JSON.stringify(input),
    `portside: ${JSON.stringify(d.ours)} end ${portside.end} ${portside.reason ?? ''}`,
    `llhttp:   ${JSON.stringify(d.theirs)} end ${llhttp.end} ${llhttp.reason ?? ''}`,
    'Fix the codec, or list the difference with its reason in test/fixtures/h1-differential-allow.ts.',
  ].join('\n');
}

/** Fails on a problem, or with H1_DIFF_EXPLORE=1 only prints it (to survey every class at once). */
function report(problem: string | undefined): void {
  if (problem === undefined) return;
  if (process.env.H1_DIFF_EXPLORE === '1') console.log(`${problem}\n`);
  else assert.fail(problem);
}

/** fast-check's report (seed, path, counterexample) must reach the test output. */
async function check<T>(arbitrary: fc.Arbitrary<T>, property: (value: T) => Promise<void>): Promise<void> {
  const details = await fc.check(fc.asyncProperty(arbitrary, property), {
    numRuns: RUNS,
    seed: SEED,
    path: PATH,
  });
  if (details.failed) {
    const error = ('errorInstance' in details ? details.errorInstance : undefined) as Error | undefined;
    const message = [
      fc.defaultReportMessage(details) ?? 'failed',
      error?.message ?? String(error),
      `Reproduce: H1_DIFF_SEED=${details.seed} H1_DIFF_PATH=${details.counterexamplePath}`,
    ].join('\n');
    console.error(message);
    assert.fail(message);
  }
}

describe('HTTP/1.1 codec vs llhttp (differential)', { timeout: 120_000 }, () => {
  const requests = new NodeRequestOracle();
  const responses = new NodeResponseOracle();
  before(async () => {
    await requests.start();
    await responses.start();
  });
  after(async () => {
    await requests.stop();
    await responses.stop();
  });

  it('requests: same messages, same refusals', async () => {
    await check(requestBytes, async (text) => {
      const input = Buffer.from(text, 'latin1');
      report(disagreement('request', text, portsideParseRequests(input), await requests.parse(input)));
    });
  });

  it('responses: same messages, same refusals', async () => {
    await check(fc.tuple(responseBytes, fc.constantFrom('GET', 'GET', 'HEAD')), async ([text, method]) => {
      const input = Buffer.from(text, 'latin1');
      const ours = portsideParseResponse(input, method);
      const t0 = performance.now();
      const theirs = await responses.parse(input, method);
      if (process.env.H1_DIFF_EXPLORE === '1' && performance.now() - t0 > 100)
        console.log('SLOW', Math.round(performance.now() - t0), JSON.stringify(text), JSON.stringify(theirs));
      report(disagreement('response', text, ours, theirs, method));
    });
  });
});
