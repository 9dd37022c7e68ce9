/**
 * Test certificates made at run time with the openssl CLI (ECDSA P-256): a CA, then
 * server and client certificates it signs, including expired and wrong-name ones.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCertificate {
  certificate: string;
  key: string;
  serial: string;
}

export interface IssueOptions {
  /** DNS names (subjectAltName). */
  dns?: string[];
  /** URIs such as SPIFFE IDs (subjectAltName). */
  uris?: string[];
  /** Days valid; negative: already expired. */
  days?: number;
  /** File name stem (default: the first name). */
  file?: string;
}

/** A new ECDSA P-256 key, unencrypted (`openssl req` arguments). */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

// Six hex digits, the first 1-6: printed by Node exactly as given (no sign byte, even length).
let serials = 0x100000 + Math.floor(Math.random() * 0x500000);

export class TestCa {
  readonly certificate: string;
  readonly key: string;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.certificate = join(dir, `${name}-ca.crt`);
    this.key = join(dir, `${name}-ca.key`);
  }

  /** A new CA in `dir` (a temp dir of its own when omitted). */
  static async create(name = 'test', dir?: string): Promise<TestCa> {
    const where = dir ?? (await tempDir());
    const ca = new TestCa(where, name);
    await run('openssl', [
      'req',
      '-x509',
      ...NEW_KEY,
      '-keyout',
      ca.key,
      '-out',
      ca.certificate,
      '-days',
      '30',
      '-subj',
      `/CN=${name} CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return ca;
  }

  /** A certificate for servers and clients alike, signed by this CA. */
  async issue(options: IssueOptions): Promise<IssuedCertificate> {
    const names = [
      ...(options.dns ?? []).map((n) => `DNS:${n}`),
      ...(options.uris ?? []).map((u) => `URI:${u}`),
    ];
    const stem = join(this.dir, options.file ?? (options.dns?.[0] ?? 'client').replace(/[^a-z0-9.-]/gi, '_'));
    const serial = (serials++).toString(16).toUpperCase();
    const ext = `${stem}.ext`;
    await writeFile(
      ext,
      `${names.length > 0 ? `subjectAltName=${names.join(',')}\n` : ''}extendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
    );
    await run('openssl', [
      'req',
      '-new',
      ...NEW_KEY,
      '-keyout',
      `${stem}.key`,
      '-out',
      `${stem}.csr`,
      '-subj',
      `/CN=${options.dns?.[0] ?? 'client'}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      `${stem}.csr`,
      '-CA',
      this.certificate,
      '-CAkey',
      this.key,
      '-set_serial',
      `0x${serial}`,
      '-days',
      String(options.days ?? 30),
      '-out',
      `${stem}.crt`,
      '-extfile',
      ext,
    ]);
    return { certificate: `${stem}.crt`, key: `${stem}.key`, serial };
  }
}

export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'portside-tls-'));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
