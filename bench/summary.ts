/**
 * Groups the samples of one run by (scenario, target, tool) into medians with spreads,
 * and checks the issue's targets against them.
 */
import type { Sample } from './measure.js';
import type { TargetMemory } from './report.js';
import { type Spread, spread } from './stats.js';

export interface Row {
  scenario: string;
  target: string;
  tool: string;
  reqPerSec?: Spread;
  p50Ms?: Spread;
  p99Ms?: Spread;
  maxMs?: Spread;
  mbPerSec?: Spread;
  rssPeakBytes?: Spread;
  /** Proxy CPU per request (µs) or per MB moved (ms). */
  cpuUsPerRequest?: Spread;
  cpuMsPerMb?: Spread;
  rssIdleBytes?: Spread;
  rssUnderLoadBytes?: Spread;
  privateUnderLoadBytes?: Spread;
  perConnectionBytes?: Spread;
  /** Share of new TLS connections that resumed a session (0–1). */
  resumedShare?: Spread;
  /** Bytes logged per request (the logging targets). */
  logBytesPerRequest?: Spread;
  errors: number;
  failedRuns: number;
}

export function summarise(samples: Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const sample of samples) {
    const key = `${sample.scenario}\0${sample.target}\0${sample.tool}`;
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  return [...groups.values()].map((group) => {
    const ok = group.filter((s) => !s.error);
    const pick = (value: (s: Sample) => number | undefined) =>
      spread(ok.map(value).filter((v): v is number => v !== undefined));
    const first = group[0]!;
    return {
      scenario: first.scenario,
      target: first.target,
      tool: first.tool,
      reqPerSec: pick((s) => s.http?.reqPerSec),
      p50Ms: pick((s) => s.http?.p50Ms),
      p99Ms: pick((s) => s.http?.p99Ms),
      maxMs: pick((s) => s.http?.maxMs),
      mbPerSec: pick((s) => s.bulk?.mbPerSec),
      rssPeakBytes: pick((s) => s.rssMaxBytes),
      cpuUsPerRequest: pick((s) =>
        s.cpuSeconds !== undefined && s.http ? (s.cpuSeconds * 1e6) / s.http.requests : undefined,
      ),
      cpuMsPerMb: pick((s) =>
        s.cpuSeconds !== undefined && s.bulk ? (s.cpuSeconds * 1e3) / (s.bulk.bytes / 1e6) : undefined,
      ),
      rssIdleBytes: pick((s) => s.memory?.rssIdleBytes),
      rssUnderLoadBytes: pick((s) => s.memory?.rssUnderLoadBytes),
      privateUnderLoadBytes: pick((s) => s.memory?.privateUnderLoadBytes),
      perConnectionBytes: pick((s) => s.memory?.perConnectionBytes),
      resumedShare: pick((s) =>
        s.http?.resumed !== undefined && s.http.requests > 0 ? s.http.resumed / s.http.requests : undefined,
      ),
      logBytesPerRequest: pick((s) =>
        s.logBytes !== undefined && s.http?.requests ? s.logBytes / s.http.requests : undefined,
      ),
      errors: ok.reduce((sum, s) => sum + (s.http ? s.http.errors + s.http.non2xx : 0), 0),
      failedRuns: group.length - ok.length,
    };
  });
}

export interface Check {
  what: string;
  tool: string;
  measured: number | undefined;
  floor: string;
  pass: boolean | undefined;
  unit: 'x' | 'ms' | 'MB';
  /** Why a measured check is not judged. */
  note?: string;
}

const MB = 1024 * 1024;

/** The floors from the issue; a check whose inputs were not measured reports `pass: undefined`. */
export function checkTargets(rows: Row[], idle: Record<string, TargetMemory>): Check[] {
  const find = (scenario: string, target: string, tool: string) =>
    rows.find((r) => r.scenario === scenario && r.target === target && r.tool === tool);
  const ratio = (scenario: string, a: string, b: string, tool: string, field: 'reqPerSec' | 'mbPerSec') => {
    const top = find(scenario, a, tool)?.[field]?.median;
    const bottom = find(scenario, b, tool)?.[field]?.median;
    return top !== undefined && bottom ? top / bottom : undefined;
  };
  /** Requests per second per core of `a` over `b`: the inverse ratio of their CPU per request. */
  const perCore = (scenario: string, a: string, b: string, tool: string) => {
    const top = find(scenario, b, tool)?.cpuUsPerRequest?.median;
    const bottom = find(scenario, a, tool)?.cpuUsPerRequest?.median;
    return top !== undefined && bottom ? top / bottom : undefined;
  };
  const toolsOf = (scenario: string) => [
    ...new Set(rows.filter((r) => r.scenario === scenario).map((r) => r.tool)),
  ];
  const checks: Check[] = [];
  const add = (
    what: string,
    tool: string,
    measured: number | undefined,
    floor: number,
    atMost: boolean,
    unit: Check['unit'],
  ) =>
    checks.push({
      what,
      tool,
      measured,
      floor: `${atMost ? '≤' : '≥'} ${floor}${unit === 'x' ? '×' : ` ${unit}`}`,
      pass: measured === undefined ? undefined : atMost ? measured <= floor : measured >= floor,
      unit,
    });
  const tools = [...new Set(rows.filter((r) => r.scenario !== 'l4-bulk').map((r) => r.tool))];
  for (const tool of tools.filter((t) => t !== 'node' && t !== 'h2load')) {
    add(
      'L7 50 conns req/s vs http-proxy',
      tool,
      ratio('l7-small-50', 'portside-l7', 'http-proxy', tool, 'reqPerSec'),
      1.7,
      false,
      'x',
    );
    add(
      'L7 50 conns req/s vs nginx',
      tool,
      ratio('l7-small-50', 'portside-l7', 'nginx', tool, 'reqPerSec'),
      0.5,
      false,
      'x',
    );
    add('L7 50 conns p99', tool, find('l7-small-50', 'portside-l7', tool)?.p99Ms?.median, 3, true, 'ms');
    // A load generator that cannot reach the floor on its own (autocannon saturates its core)
    // measures itself, not the proxy: the check is reported, but neither passes nor fails.
    const directP99 = find('l7-small-50', 'direct', tool)?.p99Ms?.median;
    const p99Check = checks[checks.length - 1]!;
    if (directP99 !== undefined && directP99 > 3 && p99Check.measured !== undefined) {
      p99Check.pass = undefined;
      p99Check.note = `not judged: without a proxy (direct) this tool's own p99 is ${directP99.toFixed(2)} ms`;
    }
    add(
      'L4 50 conns req/s vs HAProxy tcp',
      tool,
      ratio('l4-small-50', 'portside-l4', 'haproxy-tcp', tool, 'reqPerSec'),
      0.9,
      false,
      'x',
    );
  }
  // Issue 16: HTTP/2 both sides, ≥ 0.5× nginx per core. The upstream and h2load share one core,
  // so req/s can be capped for every target alike; CPU per request is the per-core figure.
  for (const [scenario, what] of [
    ['h2-small', 'h2c small'],
    ['h2-grpc', 'gRPC unary'],
  ] as const) {
    add(
      `${what} req/s vs nginx`,
      'h2load',
      ratio(scenario, 'portside-h2', 'nginx-h2', 'h2load', 'reqPerSec'),
      0.5,
      false,
      'x',
    );
    add(
      `${what} req/s per core vs nginx`,
      'h2load',
      perCore(scenario, 'portside-h2', 'nginx-h2', 'h2load'),
      0.5,
      false,
      'x',
    );
  }
  // Issue 17: over TLS, keep-alive ≥ 0.7× nginx and full handshakes ≥ 0.5× nginx. The client's
  // side of a handshake costs as much as the server's and runs on the one load core, so req/s
  // can be capped for every target alike; CPU per request (per handshake) is the per-core figure.
  for (const [scenario, what, tool, floor] of [
    ['tls-keepalive-50', 'TLS keep-alive', 'wrk', 0.7],
    ['tls-handshake', 'TLS full handshakes', 'node', 0.5],
  ] as const) {
    add(
      `${what} req/s vs nginx`,
      tool,
      ratio(scenario, 'portside-tls', 'nginx-tls', tool, 'reqPerSec'),
      floor,
      false,
      'x',
    );
    add(
      `${what} req/s per core vs nginx`,
      tool,
      perCore(scenario, 'portside-tls', 'nginx-tls', tool),
      floor,
      false,
      'x',
    );
  }
  // Issue 19: Portside as users run it (info, access log on, to a file) ≥ 0.8× the quiet
  // config (`--log-level warn`), on req/s and per core (the inverse ratio of CPU per request).
  for (const [scenario, layer] of [
    ['l7-default', 'l7'],
    ['l7-default-newconn', 'l7'],
    ['l4-default', 'l4'],
    ['l4-default-newconn', 'l4'],
  ] as const) {
    const logged = `portside-${layer}-default`;
    const quiet = `portside-${layer}`;
    for (const tool of toolsOf(scenario)) {
      add(
        `${scenario} req/s vs quiet`,
        tool,
        ratio(scenario, logged, quiet, tool, 'reqPerSec'),
        0.8,
        false,
        'x',
      );
      add(
        `${scenario} req/s per core vs quiet`,
        tool,
        perCore(scenario, logged, quiet, tool),
        0.8,
        false,
        'x',
      );
    }
  }
  // Issue 19: two workers on two cores ≥ 1.5× one worker's L7 req/s, with the load on a third
  // core. With fewer than 3 cores the load shares the second worker's: read CPU per request.
  for (const tool of toolsOf('l7-workers')) {
    add(
      'L7 2 workers req/s vs 1 worker',
      tool,
      ratio('l7-workers', 'portside-l7-w2', 'portside-l7-w1', tool, 'reqPerSec'),
      1.5,
      false,
      'x',
    );
  }
  add(
    'L4 bulk MB/s vs HAProxy tcp',
    'node',
    ratio('l4-bulk', 'portside-l4', 'haproxy-tcp', 'node', 'mbPerSec'),
    0.8,
    false,
    'x',
  );
  for (const target of ['portside-l7', 'portside-l4']) {
    const underLoad = find('memory', target, 'autocannon')?.rssUnderLoadBytes?.median;
    add(`${target} RSS under 50-conn load`, 'autocannon', underLoad && underLoad / MB, 80, true, 'MB');
    // Idle is read twice: settled (the process a user leaves idle) and right after start.
    const settled = idle[target]?.rssSettledBytes;
    add(`${target} RSS idle (settled)`, '-', settled && settled / MB, 50, true, 'MB');
    const fresh = idle[target]?.rssFreshBytes;
    add(`${target} RSS idle (right after start)`, '-', fresh && fresh / MB, 50, true, 'MB');
  }
  return checks;
}
