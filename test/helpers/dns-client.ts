/**
 * A minimal DNS client over one UDP socket: a fixed client address and port, so every query
 * it sends belongs to the same Portside session. Builds A queries and reads A answers; enough
 * to tell which dnsmasq answered when each serves a different address for the same name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export function dnsQuery(id: number, name: string): Buffer {
  const labels = name.split('.').map((label) => Buffer.concat([Buffer.of(label.length), Buffer.from(label)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, ...labels, Buffer.of(0, 0, 1, 0, 1)]); // root, type A, class IN
}

/** The id and A addresses of a response. */
export function parseAnswer(message: Buffer): { id: number; addresses: string[] } {
  const id = message.readUInt16BE(0);
  const answers = message.readUInt16BE(6);
  let offset = skipName(message, 12) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < answers; i++) {
    offset = skipName(message, offset);
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 8);
    offset += 10;
    if (type === 1 && length === 4) addresses.push([...message.subarray(offset, offset + 4)].join('.'));
    offset += length;
  }
  return { id, addresses };
}

function skipName(message: Buffer, start: number): number {
  let offset = start;
  for (;;) {
    const length = message[offset]!;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2; // compression pointer
    offset += length + 1;
  }
}

export class DnsClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (addresses: string[]) => void>();

  private constructor(readonly socket: Socket) {
    socket.on('message', (message) => {
      const { id, addresses } = parseAnswer(message);
      this.waiting.get(id)?.(addresses);
      this.waiting.delete(id);
    });
    // A refused datagram (port unreachable) shows up here; the query's retry handles it.
    socket.on('error', () => {});
  }

  /** A client socket on `address` (any 127.0.0.0/8 address works on Linux loopback). */
  static async open(address = '127.0.0.1', port = 0): Promise<DnsClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new DnsClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /**
   * Asks for `name`'s A records at 127.0.0.1:`port`, sending again after each `timeoutMs`
   * without an answer, `tries` times in all; undefined when nothing answered.
   */
  async resolve(
    port: number,
    name: string,
    { timeoutMs = 1000, tries = 3 } = {},
  ): Promise<string[] | undefined> {
    for (let attempt = 0; attempt < tries; attempt++) {
      const id = this.nextId++ & 0xffff;
      const answer = new Promise<string[] | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting.delete(id);
          resolve(undefined);
        }, timeoutMs);
        this.waiting.set(id, (addresses) => {
          clearTimeout(timer);
          resolve(addresses);
        });
      });
      this.socket.send(dnsQuery(id, name), port, '127.0.0.1');
      const addresses = await answer;
      if (addresses) return addresses;
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.socket.close();
    await once(this.socket, 'close');
  }
}

/** Runs `dig` with a batch file of names (one query each, each from its own source port): one answer line per query. */
export async function digBatch(port: number, names: string[]): Promise<string[]> {
  const child = spawn(
    'dig',
    ['@127.0.0.1', '-p', String(port), '+short', '+tries=3', '+timeout=2', '-f', '-'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(`${names.join('\n')}\n`);
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`dig exited with ${code}: ${stderr}`);
  return stdout.split('\n').filter((line) => line.length > 0);
}

/** Skip reason when dig is missing outside CI; in CI a missing binary must fail the test. */
export function digSkipReason(): string | undefined {
  if (spawnSync('dig', ['-v']).status === 0 || process.env.CI) return undefined;
  return 'dig is not installed (apt-get install bind9-dnsutils); skipping';
}
