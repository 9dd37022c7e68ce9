/** The etcd password in force. Zod-free, so the running proxy can read it without the schema. */

/** Environment variable that supplies the etcd password when the config file has none. */
export const ETCD_PASSWORD_ENV = 'PORTSIDE_ETCD_PASSWORD';

/** The config's password, else the environment's, else none; only asked for with a username. */
export function etcdPassword(config: { username?: string; password?: string }): string | undefined {
  if (!config.username) return undefined;
  return config.password ?? (process.env[ETCD_PASSWORD_ENV] || undefined);
}
