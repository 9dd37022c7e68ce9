/**
 * Real TLS clients for tests: `openssl s_client` (which certificate a name gets, which
 * versions are refused), curl (HTTPS, ALPN), and node:tls for byte-level checks.
 */
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SClientResult {
  /** The exit code: 0 when the handshake succeeded. */
  code: number | null;
  output: string;
  /** The server's certificate, when one was sent. */
  certificate: X509Certificate | undefined;
}

/** Runs `openssl s_client -connect 127.0.0.1:port ARGS` with stdin closed (handshake, then quit). */
export function sClient(port: number, args: string[]): Promise<SClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const pem = output.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
      resolve({ code, output, certificate: pem ? new X509Certificate(pem) : undefined });
    });
    child.stdin.end();
  });
}

export interface CurlResult {
  status: number;
  httpVersion: string;
  body: string;
  /** curl's exit code (0 on success; 35 a handshake failure, 60 a certificate it refused…). */
  exitCode: number;
  stderr: string;
}

/** `curl https://NAME:PORT/PATH` resolving NAME to 127.0.0.1. */
export async function curlHttps(
  name: string,
  port: number,
  path: string,
  args: string[] = [],
): Promise<CurlResult> {
  const marker = '\n--curl--';
  try {
    const { stdout, stderr } = await run('curl', [
      '-sS',
      '--max-time',
      '20',
      '--resolve',
      `${name}:${port}:127.0.0.1`,
      '-w',
      `${marker}%{http_code} %{http_version}`,
      ...args,
      `https://${name}:${port}${path}`,
    ]);
    const at = stdout.lastIndexOf(marker);
    const [status, version] = stdout.slice(at + marker.length).split(' ');
    return {
      status: Number(status),
      httpVersion: version ?? '',
      body: stdout.slice(0, at),
      exitCode: 0,
      stderr,
    };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { status: 0, httpVersion: '', body: '', exitCode: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

/** A node:tls connection that resolves once the handshake is done, or rejects with the handshake error. */
export function tlsConnect(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Whether the server keeps a TLS connection: with TLS 1.3 a refused client certificate is
 * only known after the handshake, when the server's alert or close arrives. Sends `probe`
 * and ends its side, then resolves with what came back before the close.
 */
export function exchangeOverTls(socket: TLSSocket, probe: string): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (d: Buffer) => {
      data += d;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve({ data, error: e.code ?? e.message }));
    socket.on('close', () => resolve({ data }));
    socket.end(probe);
  });
}
