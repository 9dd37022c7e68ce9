import { stringify } from 'yaml';
import { REDACTED, redact } from '../admin/redact.js';
import { formatProblem, loadConfigFile } from '../config/load.js';
import { checkTlsFiles } from '../tls/check-files.js';

export interface ValidateOptions {
  file: string;
  printEffective: boolean;
}

/** `portside validate FILE`: 0 when valid (warnings allowed), 1 with every problem listed when not. */
export async function validateCommand({ file, printEffective }: ValidateOptions): Promise<number> {
  const { config, problems } = await loadConfigFile(file);
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  if (!config) {
    const errors = problems.filter((p) => p.severity === 'error').length;
    process.stderr.write(`${file}: invalid (${errors} error${errors === 1 ? '' : 's'})\n`);
    return 1;
  }
  // Certificate files: what the proxy would refuse at start (missing, unparsable, key mismatch, expired).
  const tls = await checkTlsFiles(config);
  for (const warning of tls.warnings) process.stderr.write(`${file}: warning: ${warning}\n`);
  if (tls.errors.length > 0) {
    for (const error of tls.errors) process.stderr.write(`${file}: ${error}\n`);
    process.stderr.write(`${file}: invalid (${plural(tls.errors.length, 'TLS file error')})\n`);
    return 1;
  }
  if (printEffective) {
    // Output like this gets pasted into tickets and chats: secrets are hidden as in GET /config.
    process.stdout.write(
      `# effective config of ${file}, defaults filled in, secrets shown as ${REDACTED}\n${stringify(redact(config))}`,
    );
    return 0;
  }
  const endpoints = config.clusters.reduce((n, c) => n + (c.endpoints?.length ?? 0), 0);
  const warnings = problems.length + tls.warnings.length;
  process.stdout.write(
    `${file}: valid (${plural(config.listeners.length, 'listener')}, ${plural(config.clusters.length, 'cluster')}, ` +
      `${plural(endpoints, 'static endpoint')}${warnings ? `, ${plural(warnings, 'warning')}` : ''})\n`,
  );
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
