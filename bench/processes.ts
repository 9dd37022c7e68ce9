/**
 * Child processes for the benchmark: spawning pinned to a CPU set, waiting for readiness,
 * stopping, and reading resident memory. Every process the bench starts goes through
 * `startProcess` so that one `stopAll()` can clean up whatever happened.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Which CPUs the proxy under test and the load side (generator + upstreams) run on. */
export interface Pinning {
  proxy: string | undefined;
  load: string | undefined;
}

/** Proxy on CPU 0, everything else on the remaining CPUs, when `taskset` exists and there are ≥ 2 CPUs. */
export function choosePinning(enabled: boolean): Pinning {
  const cpus = availableParallelism();
  if (!enabled || cpus < 2 || !commandExists('taskset')) return { proxy: undefined, load: undefined };
  return { proxy: '0', load: cpus === 2 ? '1' : `1-${cpus - 1}` };
}

export function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** First line a command prints on stderr or stdout, e.g. "nginx version: nginx/1.22.1". */
export function commandVersion(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  const text = `${result.stderr ?? ''}\n${result.stdout ?? ''}`.trim();
  return text ? text.split('\n')[0]!.trim() : undefined;
}

export interface Started {
  name: string;
  child: ChildProcess;
  /** Everything the process wrote, for error messages. */
  output(): string;
}

const running = new Set<Started>();

/**
 * Spawns `command args`, pinned to `cpus` with taskset when given. With `stdoutFile`, its
 * standard output goes to that file, as a daemon's log would, instead of a pipe this process
 * reads.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  cpus?: string,
  stdoutFile?: string,
): Started {
  const [file, argv] = cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
  const stdout = stdoutFile === undefined ? 'pipe' : openSync(stdoutFile, 'a');
  const child = spawn(file, argv, { stdio: ['pipe', stdout, 'pipe'] });
  if (typeof stdout === 'number') closeSync(stdout);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr!.on('data', keep);
  child.stdin!.on('error', () => {});
  child.on('error', (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)));
  const started: Started = { name, child, output: () => output };
  running.add(started);
  child.on('exit', () => running.delete(started));
  return started;
}

/**
 * The argv that runs one of the bench's own scripts: the compiled `.js` next to this file
 * when running from dist, the `.ts` source through tsx when running from source.
 */
export function benchScript(name: string): [string, string[]] {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, fromSource ? ['--import', 'tsx', file] : [file]];
}

/** Resolves with the first stdout line of a child that announces itself (e.g. its ports as JSON). */
export function firstLine(started: Started, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => fail(new Error(`${started.name} said nothing within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      cleanup();
      resolve(buffer.slice(0, newline));
    };
    const onExit = (code: number | null) => fail(new Error(`${started.name} exited (${code})`));
    const fail = (error: Error) => {
      cleanup();
      reject(new Error(`${error.message}:\n${started.output()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      started.child.stdout!.off('data', onData);
      started.child.off('exit', onExit);
    };
    started.child.stdout!.on('data', onData);
    started.child.once('exit', onExit);
  });
}

/** Resolves with the process's exit code; rejects after `timeoutMs`. */
export function exited(started: Started, timeoutMs: number): Promise<number | null> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${started.name} still running after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export async function stopProcess(started: Started): Promise<void> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return;
  started.child.kill('SIGTERM');
  try {
    await exited(started, 5000);
  } catch {
    started.child.kill('SIGKILL');
    await exited(started, 5000).catch(() => {});
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stopProcess));
}

/**
 * A port that was free a moment ago, for a target to bind. It is taken below the kernel's
 * ephemeral range (ip_local_port_range), where no port-0 bind and no outgoing connection of
 * another process lands: the test suite runs other files beside the bench, and a port from
 * the ephemeral range could be handed to one of their listeners between this check and the
 * target's bind (then the bench measured someone else's server).
 */
export async function freePort(): Promise<number> {
  const [low, high] = portsBelowEphemeral();
  for (let attempt = 0; attempt < 50 && high > low; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canBind(port)) return port;
  }
  return anyFreePort();
}

/** [low, high): from 10000 up to the start of the ephemeral range, or empty when that starts lower. */
function portsBelowEphemeral(): [number, number] {
  const range = readIfExists('/proc/sys/net/ipv4/ip_local_port_range');
  const start = Number(range?.trim().split(/\s+/)[0] ?? 32768);
  return [10000, Number.isFinite(start) ? start : 32768];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until `port` accepts connections, failing early if the process dies. */
export async function waitForPort(started: Started, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) {
      throw new Error(`${started.name} exited with ${started.child.exitCode}:\n${started.output()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${started.name} did not listen on ${port} within ${timeoutMs} ms:\n${started.output()}`);
}

/** A process and all its descendants (nginx master + worker). */
function processTree(pid: number): number[] {
  const pids: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const current = pending.pop()!;
    pids.push(current);
    const children = readIfExists(`/proc/${current}/task/${current}/children`);
    if (children) pending.push(...children.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return pids;
}

export interface Resident {
  /** VmRSS: every resident page, including the clean pages of the executable and libraries. */
  rss: number;
  /** RssAnon: the process's own memory (heaps, stacks, buffers), which no other process shares. */
  anon: number;
}

/** Resident memory of a process tree, in bytes. */
export function residentBytes(pid: number): Resident {
  const total = { rss: 0, anon: 0 };
  for (const current of processTree(pid)) {
    const status = readIfExists(`/proc/${current}/status`) ?? '';
    total.rss += kilobytes(/^VmRSS:\s+(\d+) kB/m.exec(status));
    total.anon += kilobytes(/^RssAnon:\s+(\d+) kB/m.exec(status));
  }
  return total;
}

const kilobytes = (match: RegExpExecArray | null) => (match ? Number(match[1]) * 1024 : 0);

export function rssBytes(pid: number): number {
  return residentBytes(pid).rss;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/**
 * CPU time (user + system) a process tree has used, in seconds. CPU per request is steadier
 * than requests per second on a machine shared with other work.
 */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const current of processTree(pid)) {
    const stat = readIfExists(`/proc/${current}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

function readIfExists(path: string): string | undefined {
  try {
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}
