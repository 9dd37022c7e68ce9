/**
 * `portside register`: announce one application in etcd from a script, without a proxy.
 * Keeps the entry alive (and its check, if asked for) until SIGTERM/SIGINT, then withdraws
 * it; with --once writes it on a lease nobody renews and exits, so it expires after --ttl.
 * The flags build a `registry` + `register` entry and go through the config schema, so
 * they accept and refuse exactly what the config file does.
 */
import { once } from 'node:events';
import { resolveSelfLocality } from '../balancing/locality.js';
import type { HealthCheckConfig } from '../config/health-schema.js';
import { type RegistrationConfig, registrySchema } from '../config/registry-schema.js';
import { duration } from '../config/schema.js';
import { ms } from '../config/values.js';
import { createLogger, type LogLevel } from '../core/log.js';
import { httpProbe, tcpProbe } from '../health/probes.js';
import { etcdClient, Registrar } from '../registry/registrar.js';
import { probeTarget, Registration } from '../registry/registration.js';

/** The command line's values that `register` reads (main.ts parses them; commands.ts documents them). */
export interface RegisterFlags {
  etcd?: string[];
  prefix?: string;
  service?: string;
  address?: string;
  port?: string;
  id?: string;
  ttl?: string;
  weight?: string;
  zone?: string;
  node?: string;
  meta?: string[];
  'check-tcp'?: boolean;
  'check-http'?: string;
  'check-interval'?: string;
  username?: string;
  once?: boolean;
}

const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));

/** The flags as the config file would spell them. */
function asConfig(values: RegisterFlags) {
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

export async function registerCommand(values: RegisterFlags, logLevel: LogLevel): Promise<number> {
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
