/**
 * `portside explain`: offline from a config file, or live from the running proxy's admin
 * API (`GET /explain`, which answers the same JSON document).
 */
import { adminToken } from '../config/admin-token.js';
import { formatProblem, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ExplainError, explain } from '../explain/explain.js';
import type { ExplainQuery, Explanation } from '../explain/explanation.js';
import { formatExplanation } from '../explain/format.js';
import { offlineWorld } from '../explain/offline.js';
import { querySearch } from '../explain/query.js';

export interface ExplainOptions {
  configFile: string | undefined;
  /** The admin API's base URL: explain live. */
  admin: string | undefined;
  query: ExplainQuery;
  output: 'text' | 'json';
}

/** 0: the request (or connection) would be forwarded; 1: it would not, or explaining failed. */
export async function explainCommand(options: ExplainOptions): Promise<number> {
  let config: Config | undefined;
  if (options.configFile !== undefined) {
    const { config: loaded, problems } = await loadConfigFile(options.configFile);
    if (!loaded) {
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      process.stderr.write(`${options.configFile}: invalid; explain needs a valid config\n`);
      return 1;
    }
    config = loaded;
  }
  let explanation: Explanation;
  try {
    if (options.admin !== undefined) {
      const token = config?.admin ? adminToken(config.admin) : process.env.PORTSIDE_ADMIN_TOKEN || undefined;
      explanation = await explainLive(options.admin, options.query, token);
    } else {
      explanation = explain(offlineWorld(config!), options.query);
    }
  } catch (error) {
    if (!(error instanceof ExplainError)) throw error;
    process.stderr.write(`portside: ${error.message}\n`);
    return 1;
  }
  process.stdout.write(
    options.output === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation),
  );
  return forwarded(explanation) ? 0 : 1;
}

function forwarded(explanation: Explanation): boolean {
  return explanation.results.every((r) =>
    r.kind === 'http'
      ? r.answer === undefined
      : r.answer === undefined && r.clusters.every((c) => c.nextPick !== null || c.endpointsUnknown),
  );
}

async function explainLive(
  admin: string,
  query: ExplainQuery,
  token: string | undefined,
): Promise<Explanation> {
  let base: URL;
  try {
    base = new URL(/^https?:\/\//i.test(admin) ? admin : `http://${admin}`);
  } catch {
    throw new ExplainError(`--admin: "${admin}" is not a URL (e.g. http://127.0.0.1:9901)`);
  }
  const url = new URL(`explain?${querySearch(query)}`, base.href.endsWith('/') ? base : `${base.href}/`);
  let response: Response;
  try {
    response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (error) {
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new ExplainError(`cannot reach the admin API at ${base.origin}: ${cause}`);
  }
  const body = (await response.json().catch(() => undefined)) as
    | (Explanation & { error?: { message: string } })
    | undefined;
  if (response.ok && body) return body;
  const why = body?.error?.message ?? `HTTP ${response.status}`;
  const hint = response.status === 401 ? ' (give -c FILE with admin.token, or set PORTSIDE_ADMIN_TOKEN)' : '';
  throw new ExplainError(`admin API: ${why}${hint}`);
}
