/**
 * What `portside run` adds around the proxy for operators: hot reload (file watcher and
 * SIGHUP) and the admin server. Closed after the proxy has drained.
 */

import type { RegistrationsSource } from '../admin/proxy-source.js';
import type { AdminServer } from '../admin/server.js';
import { adminToken } from '../config/admin-token.js';
import type { Config } from '../config/schema.js';
import { type ConfigWatcher, watchConfigFile } from '../core/config-watcher.js';
import type { Logger } from '../core/log.js';
import type { ProxyServer } from '../core/proxy.js';
import { ConfigReloader } from '../core/reloader.js';
import { ServerTls } from '../tls/server-tls.js';
import type { WorkerThreads } from '../workers/threads.js';

export interface OperationsOptions {
  proxy: ProxyServer;
  /** What this node announces in etcd, for the admin API's /registrations. */
  registrar?: RegistrationsSource;
  /** The config the proxy started with. */
  config: Config;
  configFile: string;
  log: Logger;
  /** Reload when the file changes, and on SIGHUP (false for configs that are not files, like the demo's). */
  watch: boolean;
  /** `workers: N`: reloads go to the main thread and every worker, and the admin API sums the workers. */
  workers?: WorkerThreads;
}

export interface Operations {
  reloader: ConfigReloader;
  admin: AdminServer | undefined;
  close(): Promise<void>;
}

export async function startOperations(options: OperationsOptions): Promise<Operations> {
  const { proxy, config, log } = options;
  const { workers } = options;
  const reloader = new ConfigReloader(
    workers ?? proxy,
    options.configFile,
    log.child({ component: 'reload' }),
  );
  reloader.started(config);

  let admin: AdminServer | undefined;
  if (config.admin) {
    // Loaded only when configured: the admin server brings prom-client (~12 MB).
    const [{ AdminServer }, { ProxyAdminSource }] = await Promise.all([
      import('../admin/server.js'),
      import('../admin/proxy-source.js'),
    ]);
    const adminConfig = config.admin;
    let tls: ServerTls | undefined;
    if (adminConfig.tls) {
      tls = await ServerTls.load(adminConfig.tls);
      proxy.tls.keep('admin', tls);
    }
    admin = new AdminServer({
      tls,
      address: adminConfig.address,
      // Read at each request, so a reload can rotate the token.
      token: () => adminToken(proxy.current?.config.admin ?? adminConfig),
      openMetrics: () => (proxy.current?.config.admin ?? adminConfig).openMetrics,
      source: workers
        ? workers.adminSource(reloader, options.registrar)
        : new ProxyAdminSource(proxy, reloader, options.registrar),
      logger: log.child({ component: 'admin' }),
    });
    await admin.start();
    proxy.events.on('reload', (result) => {
      const next = proxy.current?.config.admin;
      if (result.ok && next?.address !== adminConfig.address) {
        log.warn(
          { running: adminConfig.address, configured: next?.address ?? null },
          'admin address changes apply on restart',
        );
      }
      if (result.ok && JSON.stringify(next?.tls) !== JSON.stringify(adminConfig.tls)) {
        // Its files rotate without a restart; naming other files (or none) takes one.
        log.warn('admin.tls changes apply on restart');
      }
    });
  }

  let watcher: ConfigWatcher | undefined;
  const onHangup = () => void reloader.reload('SIGHUP');
  if (options.watch) {
    watcher = await watchConfigFile({
      file: options.configFile,
      log,
      onChange: () => void reloader.reload('file change'),
    });
    process.on('SIGHUP', onHangup);
  }

  return {
    reloader,
    admin,
    async close() {
      watcher?.close();
      process.off('SIGHUP', onHangup);
      await admin?.close();
    },
  };
}
