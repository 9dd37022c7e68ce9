/**
 * Portside as a target, run as the real CLI: `node FLAGS dist/src/cli/main.js run -c FILE`.
 * Of this checkout or, with `--compare DIR`, another one (`portside-l7@base`); on the bench's
 * Node or, with `--node 26`, another (`portside-l7@node26`); quiet (`--log-level warn`, what
 * most scenarios measure: the proxy, not its logging) or as a user runs it (`-default`: info,
 * access log on, standard output to a file); and with the `workers` key (`-w2`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  type Layer,
  l4Ports,
  launch,
  portsideCli,
  type TargetContext,
  type TargetSpec,
  tlsFiles,
  upstreamL4,
} from './launch.js';
import { nodeFlagsOf } from './node-flags.js';
import { atLeast, type NodeBinary } from './node-versions.js';
import type { L4Ports } from './peer-configs.js';
import { portsideH2Config, portsideL4Config, portsideL7Config } from './portside-config.js';

export interface PortsideBuild {
  /** The checkout whose dist/ runs (this one by default). */
  root?: string;
  /** Appended to every target's name: `@base` (--compare), `@node26` (--node). */
  suffix: string;
  /** The Node that runs it (the bench's own by default). */
  node?: NodeBinary;
}

interface RunAs {
  /** Also the L4 bulk listener (the L4 configs have one). */
  bulk?: boolean;
  /** Log as a user's Portside does: no `--log-level` (info, access log on), stdout to a file. */
  logged?: boolean;
  /** The CPUs it may use, instead of the proxy CPU (the workers targets). */
  cpus?: (context: TargetContext) => string | undefined;
}

type ConfigOf = (context: TargetContext, ports: L4Ports) => string;

/**
 * `node FLAGS [--cpu-prof …] CLI run -c FILE [--log-level warn]`, where FLAGS are the Node
 * flags of the CLI's own `#!` line, the ones every documented way of starting Portside uses:
 * the benchmark measures Portside as it is deployed.
 */
function portsideArgs(context: TargetContext, cli: string, file: string, name: string, quiet: boolean) {
  const profile = context.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${join(context.profileDir, name)}`]
    : [];
  const level = quiet ? ['--log-level', 'warn'] : [];
  return [...nodeFlagsOf(cli), ...profile, cli, 'run', '-c', file, ...level];
}

function missingBuild(build: PortsideBuild, context: TargetContext): string | undefined {
  const cli = portsideCli(build.root ?? context.repoRoot);
  return existsSync(cli) ? undefined : `${cli} missing (npm run build)`;
}

function portsideSpec(
  name: string,
  layers: Layer[],
  build: PortsideBuild,
  config: ConfigOf,
  how: RunAs = {},
  unavailable: (context: TargetContext) => string | undefined = (context) => missingBuild(build, context),
): TargetSpec {
  return {
    name: `${name}${build.suffix}`,
    layers,
    unavailable,
    async start(context) {
      const ports = await l4Ports();
      const file = join(context.dir, `${this.name}.yaml`);
      writeFileSync(file, config(context, ports));
      const cli = portsideCli(build.root ?? context.repoRoot);
      const args = portsideArgs(context, cli, file, this.name, !how.logged);
      const node = build.node?.path ?? process.execPath;
      const bound = { httpPort: ports.http, ...(how.bulk ? { bulkPort: ports.bulk } : {}) };
      return launch(this, bound, node, args, context, {
        cpus: how.cpus?.(context),
        stdoutFile: how.logged ? join(context.dir, `${this.name}.log`) : undefined,
      });
    },
  };
}

const l7Config: ConfigOf = (context, ports) => portsideL7Config(ports.http, context.upstreams.httpPort);
const l4Config: ConfigOf = (context, ports) => portsideL4Config(ports, upstreamL4(context.upstreams));

/** Every Portside target of one build on one Node. */
export function portsideTargets(build: PortsideBuild = { suffix: '' }): TargetSpec[] {
  return [
    // The quiet L4 and L7 targets are in the `*-default` scenarios too: the target is
    // the default config against the quiet one, in the same run.
    portsideSpec('portside-l4', ['l4', 'l4-log'], build, l4Config, { bulk: true }),
    portsideSpec('portside-l7', ['l7', 'l7-log'], build, l7Config),
    portsideSpec('portside-tls', ['tls'], build, (context, ports) =>
      portsideL7Config(ports.http, context.upstreams.httpPort, tlsFiles(context)),
    ),
    portsideSpec('portside-h2', ['h2'], build, (context, ports) =>
      portsideH2Config(ports.http, context.upstreams.h2Port!),
    ),
    portsideSpec('portside-l4-default', ['l4-log'], build, l4Config, { bulk: true, logged: true }),
    portsideSpec('portside-l7-default', ['l7-log'], build, l7Config, { logged: true }),
  ];
}

/** The first `count` CPUs (all of them when there are fewer), or no pinning when the bench pins nothing. */
function firstCpus(count: number) {
  return (context: TargetContext) => {
    if (context.pinning.proxy === undefined) return undefined;
    const last = Math.min(count, availableParallelism()) - 1;
    return last === 0 ? '0' : `0-${last}`;
  };
}

const probed = new Map<string, string | undefined>();

/**
 * Whether this build takes the `workers` key: `portside validate` on a config with it. Until
 * the key exists the `*-workers` scenarios are skipped with validate's own words.
 */
function workersUnsupported(node: NodeBinary, context: TargetContext): string | undefined {
  const cli = portsideCli(context.repoRoot);
  const key = `${node.path}\0${cli}`;
  if (!probed.has(key)) {
    const file = join(context.dir, 'workers-probe.yaml');
    writeFileSync(file, portsideL7Config(1, 2, undefined, 2));
    const result = spawnSync(node.path, [cli, 'validate', file], { encoding: 'utf8', timeout: 30_000 });
    const said = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
    // "FILE:1:1 workers: unknown field "workers"; fields here: …" → the part a reader needs.
    const line = (
      said.split('\n').find((text) => text.includes('workers')) ??
      said.trim().split('\n')[0] ??
      ''
    )
      .replace(/^\S+:\d+:\d+ /, '')
      .split(';')[0];
    probed.set(
      key,
      result.status === 0
        ? undefined
        : `this build does not take the workers key yet (portside validate: ${line})`,
    );
  }
  return probed.get(key);
}

/**
 * Portside with `workers: N` for each count, L7 and L4, on `node` (the key needs Node ≥
 * 22.12), quiet. N workers may use the first N CPUs: on a 2-core machine, 2 workers share
 * CPU 1 with the load generator and the upstream.
 */
export function workersTargets(node: NodeBinary | string, counts: number[]): TargetSpec[] {
  const unavailable = (context: TargetContext) => {
    if (typeof node === 'string') return node;
    if (!atLeast(node.version, 22, 12)) return `workers need Node ≥ 22.12; --workers-node is ${node.version}`;
    return missingBuild({ suffix: '' }, context) ?? workersUnsupported(node, context);
  };
  const build: PortsideBuild = { suffix: '', node: typeof node === 'string' ? undefined : node };
  return counts.flatMap((count) => {
    const how = { cpus: firstCpus(count) };
    return [
      portsideSpec(
        `portside-l7-w${count}`,
        ['l7-workers'],
        build,
        (context, ports) => portsideL7Config(ports.http, context.upstreams.httpPort, undefined, count),
        how,
        unavailable,
      ),
      portsideSpec(
        `portside-l4-w${count}`,
        ['l4-workers'],
        build,
        (context, ports) => portsideL4Config(ports, upstreamL4(context.upstreams), count),
        { ...how, bulk: true },
        unavailable,
      ),
    ];
  });
}
