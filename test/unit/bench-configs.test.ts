/**
 * The configs the benchmark generates: Portside's load without a problem (and carry the
 * `workers` key only when asked), and the logging peers log where the bench reads, checked by
 * nginx and HAProxy themselves (`nginx -t`, `haproxy -c`) where they are installed. Also the
 * report's pieces that set targets against each other.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { subjectTable, variantsTable } from '../../bench/comparisons.js';
import { LatencyHistogram } from '../../bench/latency.js';
import { atLeast, findNode } from '../../bench/node-versions.js';
import {
  haproxyHttpConfig,
  haproxyTcpConfig,
  NGINX_STREAM_MODULE,
  nginxProxyConfig,
  nginxStreamConfig,
} from '../../bench/peer-configs.js';
import { portsideH2Config, portsideL4Config, portsideL7Config } from '../../bench/portside-config.js';
import type { Row } from '../../bench/summary.js';
import { loadConfigText } from '../../src/config/load.js';

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const ports = { http: 18001, bulk: 18002 };
const upstreams = { http: 18003, bulk: 18004 };

describe('bench Portside configs', () => {
  for (const [name, text] of [
    ['L7', portsideL7Config(18001, 18003)],
    ['L4', portsideL4Config(ports, upstreams)],
    ['h2', portsideH2Config(18001, 18003)],
  ] as const) {
    it(`${name} loads with no error`, () => {
      const { config, problems } = loadConfigText(text);
      assert.ok(config, problems.map((p) => p.message).join('\n'));
    });
  }

  it('carries workers only when asked', () => {
    assert.equal(parse(portsideL7Config(18001, 18003)).workers, undefined);
    assert.equal(parse(portsideL7Config(18001, 18003, undefined, 2)).workers, 2);
    assert.equal(parse(portsideL4Config(ports, upstreams, 1)).workers, 1);
  });
});

describe('bench logging peers', () => {
  it('nginx logs every request to the given file, and nothing without one', () => {
    assert.match(nginxProxyConfig('/d', 18001, 18003, undefined, '/d/x.log'), /access_log \/d\/x\.log;/);
    assert.match(nginxProxyConfig('/d', 18001, 18003), /access_log off;/);
    assert.match(nginxStreamConfig('/d', ports, upstreams, '/d/s.log'), /access_log \/d\/s\.log basic;/);
    assert.doesNotMatch(nginxStreamConfig('/d', ports, upstreams), /access_log/);
  });

  it('HAProxy logs to stdout, httplog in mode http and tcplog in mode tcp', () => {
    const http = haproxyHttpConfig(18001, 18003, undefined, true);
    assert.match(http, /log stdout format raw local0/);
    assert.match(http, /option httplog/);
    assert.match(haproxyTcpConfig(ports, upstreams, true), /option tcplog/);
    assert.doesNotMatch(haproxyHttpConfig(18001, 18003), /\blog\b/);
  });

  it('nginx accepts its logging configs', { skip: has('nginx') ? false : 'nginx is not installed' }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const configs = [['proxy', nginxProxyConfig(dir, 18001, 18003, undefined, join(dir, 'a.log'))]];
    if (spawnSync('test', ['-e', NGINX_STREAM_MODULE]).status === 0) {
      configs.push(['stream', nginxStreamConfig(dir, ports, upstreams, join(dir, 's.log'))]);
    }
    for (const [name, text] of configs) {
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, text!);
      const result = spawnSync('nginx', ['-t', '-p', dir, '-c', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    }
  });

  it('HAProxy accepts its logging configs', {
    skip: has('haproxy') ? false : 'haproxy is not installed',
  }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of [
      ['http', haproxyHttpConfig(18001, 18003, undefined, true)],
      ['tcp', haproxyTcpConfig(ports, upstreams, true)],
    ]) {
      const file = join(dir, `${name}.cfg`);
      writeFileSync(file, text!);
      const result = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
    }
  });
});

const spread = (median: number) => ({ median, min: median, max: median, n: 1 });
const row = (target: string, reqPerSec: number, cpuUs: number, scenario = 'l7-default'): Row => ({
  scenario,
  target,
  tool: 'wrk',
  reqPerSec: spread(reqPerSec),
  cpuUsPerRequest: spread(cpuUs),
  p99Ms: spread(1),
  errors: 0,
  failedRuns: 0,
});

describe('bench comparisons', () => {
  it('sets the subject against every other target, req/s and per core', () => {
    const lines = subjectTable(
      [
        row('portside-l7', 50_000, 20),
        row('portside-l7-default', 40_000, 25),
        row('nginx-log', 80_000, 10),
        row('portside-l7@node26', 60_000, 16),
        row('portside-l7-default@node26', 54_000, 20),
      ],
      'portside-l7-default',
    );
    assert.deepEqual(lines.slice(5), [
      '| portside-l7-default | portside-l7 | wrk | 0.80× | 0.80× |',
      '| portside-l7-default | nginx-log | wrk | 0.50× | 0.40× |',
      // A variant is set against the same variant only.
      '| portside-l7-default@node26 | portside-l7@node26 | wrk | 0.90× | 0.80× |',
    ]);
    assert.deepEqual(subjectTable([row('nginx-log', 1, 1)], 'portside-l7-default'), []);
  });

  it('sets each variant against its base target', () => {
    const lines = variantsTable([
      row('portside-l7', 50_000, 20, 'l7-small-50'),
      row('portside-l7@node26', 60_000, 16, 'l7-small-50'),
    ]);
    assert.ok(
      lines.includes('| l7-small-50 | wrk | portside-l7@node26 | 1.20× | 1.25× | 1.00 / 1.00 |'),
      lines.join('\n'),
    );
    assert.deepEqual(variantsTable([row('portside-l7', 1, 1)]), []);
  });
});

describe('bench helpers', () => {
  it('the latency histogram keeps the slowest sample, past its 100 ms range too', () => {
    const histogram = new LatencyHistogram();
    assert.ok(Number.isNaN(histogram.maxMs()));
    for (const ms of [0.5, 2, 1]) histogram.recordMs(ms);
    assert.equal(histogram.maxMs(), 2);
    histogram.recordMs(1234.5);
    assert.equal(histogram.maxMs(), 1234.5);
  });

  it('finds Node by path and says why it cannot', () => {
    const self = findNode(process.execPath, process.cwd());
    assert.ok(typeof self !== 'string' && self.version === process.version, String(self));
    assert.match(String(findNode('/nonexistent/node', process.cwd())), /not found/);
    assert.ok(atLeast('v22.12.0', 22, 12));
    assert.ok(atLeast('v26.0.1', 22, 12));
    assert.ok(!atLeast('v22.11.9', 22, 12));
    assert.ok(!atLeast('v20.20.2', 22, 12));
  });
});
