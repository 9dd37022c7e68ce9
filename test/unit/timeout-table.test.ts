import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.js';

const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The README's timeout table: key → default, as written in its backticks. */
function timeoutTable(): Map<string, string> {
  const start = README.indexOf('### Timeouts\n');
  assert.ok(start >= 0, 'README has a "### Timeouts" section');
  const rows = new Map<string, string>();
  for (const line of README.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[2]!.includes('`')) continue;
    rows.set(cells[2]!.replace(/`/g, ''), cells[3]!.replace(/`/g, ''));
  }
  return rows;
}

const CONFIG = `listeners:
  - { name: web, address: 1, protocol: http, routes: [ { match: {}, cluster: c } ] }
  - { name: tcp, address: 2, cluster: c }
  - { name: udp, address: 3, protocol: udp, cluster: c }
clusters:
  - { name: c, endpoints: [127.0.0.1:9] }
`;

describe('README timeout table', () => {
  it('lists every timeout of the config with its default', () => {
    const { config, problems } = loadConfigText(CONFIG, 'timeouts.yaml');
    assert.deepEqual(problems, []);
    const [web, tcp, udp] = config!.listeners;
    assert.ok(web?.protocol === 'http' && tcp?.protocol === 'tcp' && udp?.protocol === 'udp');
    const defaults = new Map<string, string>([
      ['drainTimeout', config!.drainTimeout],
      ['route timeout', web.routes[0]!.timeout],
      ['route perTryTimeout', 'none'],
      ['listeners[].connectTimeout', tcp.connectTimeout],
      ['listeners[].idleTimeout', tcp.idleTimeout],
      ['listeners[].idleTimeout (udp)', udp.idleTimeout],
      ['listeners[].replyTimeout (udp)', udp.replyTimeout ?? 'none'],
    ]);
    // Any new *Timeout under limits or upstream must join the table.
    for (const [group, values] of Object.entries({ limits: web.limits, upstream: web.upstream })) {
      for (const [key, value] of Object.entries(values)) {
        if (key.endsWith('Timeout')) defaults.set(`${group}.${key}`, String(value));
      }
    }
    const table = timeoutTable();
    for (const [key, value] of defaults) {
      assert.equal(table.get(key), value, `README timeout table: ${key} defaults to ${value}`);
    }
  });
});
