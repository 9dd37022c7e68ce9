/** The admin bearer token in force. Zod-free, so the running proxy can read it without the schema. */
import type { AdminConfig } from './admin-schema.js';

/** Environment variable that supplies the admin token when the config file has none. */
export const ADMIN_TOKEN_ENV = 'PORTSIDE_ADMIN_TOKEN';

/** The token in force: the config's, else the environment's, else none. */
export function adminToken(config: AdminConfig): string | undefined {
  return config.token ?? (process.env[ADMIN_TOKEN_ENV] || undefined);
}
