import { text } from 'node:stream/consumers';
import { stringify } from 'yaml';
import { REDACTED, redact } from '../admin/redact.js';
import { asWritten } from '../config/as-written.js';
import { formatProblem, type LoadResult, loadConfigFile, loadConfigText } from '../config/load.js';
import type { CatalogConfig } from '../config/schema.js';
import { checkTlsFiles } from '../tls/check-files.js';

export interface ValidateOptions {
  /** Config files; "-" reads standard input. */
  files: string[];
  printEffective: boolean;
  output: 'yaml' | 'json';
}

/** The name problems give standard input. */
const STDIN = '<stdin>';

/**
 * `portside validate FILE...`: every file is checked and gets its own verdict; 0 when all
 * are valid (warnings allowed), 1 when one is not.
 */
export async function validateCommand({ files, printEffective, output }: ValidateOptions): Promise<number> {
  let status = 0;
  for (const file of files) {
    const name = file === '-' ? STDIN : file;
    const { config, problems } = await load(file);
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    if (!config) {
      const errors = problems.filter((p) => p.severity === 'error').length;
      process.stderr.write(`${name}: invalid (${plural(errors, 'error')})\n`);
      status = 1;
      continue;
    }
    // Certificate files: what the proxy would refuse at start (missing, unparsable, key mismatch, expired).
    const tls = await checkTlsFiles(config);
    for (const warning of tls.warnings) process.stderr.write(`${name}: warning: ${warning}\n`);
    if (tls.errors.length > 0) {
      for (const error of tls.errors) process.stderr.write(`${name}: ${error}\n`);
      process.stderr.write(`${name}: invalid (${plural(tls.errors.length, 'TLS file error')})\n`);
      status = 1;
      continue;
    }
    if (printEffective) {
      // Output like this gets pasted into tickets and chats: secrets are hidden as in GET /config.
      process.stdout.write(
        output === 'json'
          ? `${JSON.stringify(redact(asWritten(config)), null, 2)}\n`
          : `# effective config of ${name}, defaults filled in, secrets shown as ${REDACTED}\n${stringify(redact(asWritten(config)))}`,
      );
      continue;
    }
    const endpoints = config.clusters.reduce((n, c) => n + (c.endpoints?.length ?? 0), 0);
    const warnings = problems.length + tls.warnings.length;
    process.stdout.write(
      `${name}: valid (${plural(config.listeners.length, 'listener')}, ${plural(config.clusters.length, 'cluster')}, ` +
        `${plural(endpoints, 'static endpoint')}${warnings ? `, ${plural(warnings, 'warning')}` : ''})\n`,
    );
    if (config.catalog) process.stdout.write(`${name}: ${describeCatalog(config.catalog)}\n`);
  }
  return status;
}

async function load(file: string): Promise<LoadResult> {
  if (file === '-') return loadConfigText(await text(process.stdin), STDIN);
  return loadConfigFile(file);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line on what the catalog routes, for `validate`: its Services come from the API server at run time. */
export function describeCatalog(catalog: CatalogConfig): string {
  const { namespaces, selector } = catalog.kubernetes;
  const where =
    namespaces === 'all'
      ? 'every namespace'
      : `namespace${namespaces.length === 1 ? '' : 's'} ${namespaces.join(', ')}`;
  return (
    `catalog: every Service of ${where}${selector ? ` matching "${selector}"` : ''}, ` +
    `by Host on ${catalog.listeners.join(', ')} (a cluster per Service port, built at ${catalog.build === 'firstRequest' ? 'its first request' : "the Service's arrival"})`
  );
}
