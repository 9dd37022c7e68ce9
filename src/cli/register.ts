/**
 * `portside register`: announce one application in etcd from a script, without a proxy.
 * Keeps the entry alive (and its check, if asked for) until SIGTERM/SIGINT, then withdraws
 * it; with --once writes it on a lease nobody renews and exits, so it expires after --ttl.
 * The flags build a `registry` + `register` entry and go through the config schema, so
 * they accept and refuse exactly what the config file does.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { resolveSelfLocality } from '../balancing/locality.js';
import { ETCD_PASSWORD_ENV } from '../config/etcd-password.js';
import type { HealthCheckConfig } from '../config/health-schema.js';
import { type RegistrationConfig, registrySchema } from '../config/registry-schema.js';
import { duration } from '../config/schema.js';
import { ms } from '../config/values.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../core/log.js';
import { httpProbe, tcpProbe } from '../health/probes.js';
import { etcdClient, Registrar } from '../registry/registrar.js';
import { probeTarget, Registration } from '../registry/registration.js';

export const REGISTER_HELP = `Usage: portside register --service NAME --address HOST --port N [options]

Announces HOST:N under <prefix><service>/<id> in etcd, keeps it alive until SIGTERM/SIGINT,
then withdraws it. Discover it with discovery.etcd.prefix: <prefix><service>/.

Options:
      --etcd URL                  etcd client URL; repeat for failover (default http://127.0.0.1:2379)
      --prefix PREFIX             key prefix (default /services/)
      --id ID                     instance key below the service (default HOST:N)
      --ttl DURATION              lease time, whole seconds (default 10s)
      --weight N                  balancing weight (default 1)
      --zone ZONE, --node NODE    locality labels
      --meta KEY=VALUE            metadata; repeatable
      --check-tcp                 announce only while HOST:N accepts connections
      --check-http PATH           announce only while GET PATH answers 200-399
      --check-interval DURATION   check interval (default 2s)
      --username USER             etcd user; the password comes from $${ETCD_PASSWORD_ENV}
      --once                      write the entry and exit; it expires after --ttl (with a
                                  check: only if it passes now, else exit 1)
      --log-level LEVEL           ${LOG_LEVELS.join(' | ')} (default: info)
  -h, --help                      print this help
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      etcd: { type: 'string', multiple: true },
      prefix: { type: 'string' },
      service: { type: 'string' },
      address: { type: 'string' },
      port: { type: 'string' },
      id: { type: 'string' },
      ttl: { type: 'string' },
      weight: { type: 'string' },
      zone: { type: 'string' },
      node: { type: 'string' },
      meta: { type: 'string', multiple: true },
      'check-tcp': { type: 'boolean' },
      'check-http': { type: 'string' },
      'check-interval': { type: 'string' },
      username: { type: 'string' },
      once: { type: 'boolean' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));

/** The flags as the config file would spell them. */
function asConfig(values: ReturnType<typeof parse>) {
  const metadata = values.meta?.length
    ? Object.fromEntries(values.meta.map((m) => [m.slice(0, m.indexOf('=')), m.slice(m.indexOf('=') + 1)]))
    : undefined;
  const checking = values['check-tcp'] || values['check-http'] !== undefined;
  return {
    registry: { etcd: { endpoints: values.etcd, prefix: values.prefix, username: values.username } },
    entry: {
      service: values.service,
      id: values.id,
      address: values.address,
      port: number(values.port),
      weight: number(values.weight),
      zone: values.zone,
      node: values.node,
      metadata,
      ttl: values.ttl,
      healthCheck: checking
        ? {
            interval: values['check-interval'],
            unhealthyThreshold: 1,
            healthyThreshold: 1,
            http: values['check-http'] === undefined ? undefined : { path: values['check-http'] },
          }
        : undefined,
    },
  };
}

export async function registerCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    process.stderr.write(`portside register: ${(error as Error).message}\n\n${REGISTER_HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(REGISTER_HELP);
    return 0;
  }
  const logLevel = values['log-level'] as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    process.stderr.write(`portside register: --log-level must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }
  const badMeta = values.meta?.find((m) => m.indexOf('=') < 1);
  if (badMeta !== undefined) {
    process.stderr.write(`portside register: --meta takes KEY=VALUE; got "${badMeta}"\n`);
    return 2;
  }
  const schemas = registrySchema(duration);
  const raw = asConfig(values);
  const registry = schemas.registry.safeParse(raw.registry);
  const entry = schemas.registration.safeParse(raw.entry);
  const problems = [...(registry.error?.issues ?? []), ...(entry.error?.issues ?? [])];
  if (!registry.success || !entry.success) {
    for (const issue of problems)
      process.stderr.write(`portside register: ${issue.path.join('.') || 'flags'}: ${issue.message}\n`);
    return 2;
  }
  const log = createLogger(logLevel);

  if (values.once) {
    // A script asking for a check gets one: the entry is written only if it passes now.
    const failed = entry.data.healthCheck && (await checkOnce(entry.data, entry.data.healthCheck));
    if (failed) {
      log.error({ reason: failed }, 'local check fails; not registering');
      return 1;
    }
    const client = etcdClient(registry.data.etcd);
    const registration = new Registration(
      entry.data,
      registry.data.etcd.prefix,
      resolveSelfLocality(),
      client,
      log,
    );
    try {
      await registration.registerOnce();
      return 0;
    } catch (error) {
      log.error({ err: error }, 'cannot register');
      return 1;
    } finally {
      client.close();
    }
  }

  const registrar = new Registrar(log);
  await registrar.apply({ registry: registry.data, register: [entry.data], node: {} });
  const signal = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  log.info({ signal: signal[0] ?? 'signal' }, 'withdrawing and exiting');
  await registrar.stop();
  return 0;
}

/** One probe of the application; the failure reason, or undefined when it passes. */
async function checkOnce(entry: RegistrationConfig, check: HealthCheckConfig): Promise<string | undefined> {
  const probe = check.http ? httpProbe(check.http) : tcpProbe;
  const result = await probe(probeTarget(entry), ms(check.timeout), new AbortController().signal);
  return result.ok ? undefined : result.reason;
}
