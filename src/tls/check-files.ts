/**
 * What `portside validate` checks of every `tls:` section: the files exist, parse, each key
 * matches its certificate, and no certificate is expired — the checks a running proxy makes
 * before using them — plus a warning for certificates that expire within 14 days.
 */
import type { Config } from '../config/schema.js';
import { expiresAt, type KeyPair } from './pem.js';
import { loadServerCertificates, terminatedTls } from './server-tls.js';
import { loadClientMaterial } from './upstream-tls.js';

const WARN_BEFORE_MS = 14 * 86_400_000;

export interface TlsFileCheck {
  errors: string[];
  warnings: string[];
}

export async function checkTlsFiles(config: Config, now = Date.now()): Promise<TlsFileCheck> {
  const result: TlsFileCheck = { errors: [], warnings: [] };
  const sections: [string, () => Promise<readonly KeyPair[]>][] = [];
  for (const l of config.listeners) {
    const tls = terminatedTls(l);
    if (tls)
      sections.push([`listener "${l.name}" tls`, async () => (await loadServerCertificates(tls)).pairs]);
  }
  for (const c of config.clusters) {
    const tls = c.tls;
    if (tls) sections.push([`cluster "${c.name}" tls`, async () => (await loadClientMaterial(tls)).pairs]);
  }
  const admin = config.admin?.tls;
  if (admin) sections.push(['admin tls', async () => (await loadServerCertificates(admin)).pairs]);
  for (const [where, load] of sections) {
    try {
      for (const pair of await load()) {
        const left = expiresAt(pair.leaf) - now;
        if (left < WARN_BEFORE_MS) {
          const days = Math.floor(left / 86_400_000);
          result.warnings.push(
            `${where}: ${pair.certificateFile} expires on ${pair.leaf.validTo} (in ${days} day${days === 1 ? '' : 's'})`,
          );
        }
      }
    } catch (error) {
      result.errors.push(`${where}: ${(error as Error).message}`);
    }
  }
  return result;
}
