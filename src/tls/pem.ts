/**
 * Reads certificate, key and CA files (PEM) and checks them before anything uses them:
 * each certificate parses, the key is the certificate's, the certificate is within its
 * validity period. A file that fails is named in the error, so a log line or `portside
 * validate` says which file to fix.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A certificate (with its chain) and its key, checked to belong together. */
export interface KeyPair {
  readonly certificateFile: string;
  readonly keyFile: string;
  /** The PEM text as read: the leaf first, then any intermediates. */
  readonly certificate: string;
  readonly key: string;
  readonly leaf: X509Certificate;
}

export class TlsFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TlsFileError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? error})`);
  }
}

/** Every certificate in a PEM text; throws naming `file` when there is none or one does not parse. */
export function parseCertificates(text: string, file: string): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE);
  if (!blocks) throw new TlsFileError(file, 'no PEM certificate ("-----BEGIN CERTIFICATE-----") in the file');
  return blocks.map((block, i) => {
    try {
      return new (process.getBuiltinModule('node:crypto').X509Certificate)(block);
    } catch (error) {
      throw new TlsFileError(file, `certificate ${i + 1} does not parse (${(error as Error).message})`);
    }
  });
}

/** When a certificate stops being valid, in milliseconds since the epoch. */
export function expiresAt(certificate: X509Certificate): number {
  return Date.parse(certificate.validTo);
}

export async function readKeyPair(
  certificateFile: string,
  keyFile: string,
  now = Date.now(),
): Promise<KeyPair> {
  const [certificate, key] = await Promise.all([readText(certificateFile), readText(keyFile)]);
  const leaf = parseCertificates(certificate, certificateFile)[0]!;
  let privateKey: KeyObject;
  try {
    privateKey = process.getBuiltinModule('node:crypto').createPrivateKey(key);
  } catch (error) {
    throw new TlsFileError(keyFile, `not a usable private key (${(error as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError(keyFile, `this key does not match the certificate in ${certificateFile}`);
  }
  if (expiresAt(leaf) <= now)
    throw new TlsFileError(certificateFile, `the certificate expired on ${leaf.validTo}`);
  if (Date.parse(leaf.validFrom) > now) {
    throw new TlsFileError(certificateFile, `the certificate is not valid before ${leaf.validFrom}`);
  }
  return { certificateFile, keyFile, certificate, key, leaf };
}

/** A CA bundle: the PEM text, checked to hold at least one parsable certificate. */
export async function readCaBundle(
  file: string,
): Promise<{ file: string; pem: string; certificates: X509Certificate[] }> {
  const pem = await readText(file);
  return { file, pem, certificates: parseCertificates(pem, file) };
}
