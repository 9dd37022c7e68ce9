/**
 * The `admin:` section: where the admin API and dashboard listen, and the bearer token
 * that guards them. It lives apart from schema.ts so the sections merge independently.
 */
import { z } from 'zod';
import { ADMIN_TOKEN_ENV } from './admin-token.js';
import { listenerTls } from './tls-schema.js';
import { formatAddress, parseAddress } from './values.js';

export { ADMIN_TOKEN_ENV, adminToken } from './admin-token.js';

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:9901';

/** True for hosts only this machine can reach: 127.0.0.0/8, ::1 and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

const adminAddress = z
  .union([z.string(), z.number()], { error: 'expected an address "host:port"' })
  .transform((input, ctx) => {
    const parsed = parseAddress(input, { defaultHost: '127.0.0.1', allowPortZero: true });
    if (parsed.ok) return formatAddress(parsed.value);
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  });

export const admin = z
  .strictObject({
    /** Loopback by default; any other host requires a token. Port 0 picks a free port. */
    address: adminAddress.default(DEFAULT_ADMIN_ADDRESS),
    /** Bearer token required by every endpoint except /, /help, /healthz and /ready. */
    token: z.string().min(16, 'the admin token must be at least 16 characters').optional(),
    /**
     * `/metrics` answers without the token too: Prometheus scraping pods by annotation sends
     * none. Metrics carry names and counts, no secrets; everything else keeps the token.
     */
    openMetrics: z.boolean({ error: 'openMetrics is true or false' }).default(false),
    /** Serve the admin API over HTTPS (certificates rotate like a listener's); never required. */
    tls: listenerTls.optional(),
  })
  .superRefine((value, ctx) => {
    const host = value.address.slice(0, value.address.lastIndexOf(':'));
    if (isLoopbackHost(host) || value.token || process.env[ADMIN_TOKEN_ENV]) return;
    ctx.addIssue({
      code: 'custom',
      path: ['address'],
      message: `admin address ${value.address} is reachable from other machines: set admin.token or the ${ADMIN_TOKEN_ENV} environment variable so the admin API requires a bearer token`,
    });
  });

export type AdminConfig = z.output<typeof admin>;
