/**
 * What the load is pointed at besides Portside (portside-targets.ts): the upstream directly
 * (the limit) and the baselines (nginx, HAProxy, http-proxy, the Node floors), each its own
 * process (launch.ts).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { l4Ports, launch, needs, portsideCli, type TargetSpec, tlsFiles, upstreamL4 } from './launch.js';
import { nodeFlagsOf } from './node-flags.js';
import {
  haproxyH2Config,
  haproxyHttpConfig,
  haproxyTcpConfig,
  NGINX_STREAM_MODULE,
  nginxH2Config,
  nginxProxyConfig,
  nginxStreamConfig,
} from './peer-configs.js';
import { portsideTargets } from './portside-targets.js';
import { benchScript, commandExists, freePort } from './processes.js';

function httpProxyTarget(name: string, mode: 'naive' | 'keepalive'): TargetSpec {
  return {
    name,
    layers: ['l7'],
    unavailable: () => undefined,
    async start(context) {
      const port = await freePort();
      const [node, args] = benchScript('http-proxy-server');
      const target = `http://127.0.0.1:${context.upstreams.httpPort}`;
      return launch(this, { httpPort: port }, node, [...args, String(port), target, mode], context);
    },
  };
}

/**
 * The L7 and L4 peers; with `log`, as they log out of the box (`-log`, the `*-default`
 * scenarios): nginx writes its access log itself, HAProxy to its standard output, which goes
 * to a file as a daemon's would.
 */
function nginxTarget(log: boolean): TargetSpec {
  return {
    name: log ? 'nginx-log' : 'nginx',
    layers: [log ? 'l7-log' : 'l7'],
    unavailable: needs('nginx'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, `${this.name}.conf`);
      const logFile = log ? join(context.dir, `${this.name}-access.log`) : undefined;
      writeFileSync(
        file,
        nginxProxyConfig(context.dir, port, context.upstreams.httpPort, undefined, logFile),
      );
      const args = ['-p', context.dir, '-c', file];
      return launch(this, { httpPort: port }, 'nginx', args, context, { logFile });
    },
  };
}

function nginxStreamTarget(log: boolean): TargetSpec {
  return {
    name: log ? 'nginx-stream-log' : 'nginx-stream',
    layers: [log ? 'l4-log' : 'l4'],
    unavailable: () =>
      !commandExists('nginx')
        ? 'nginx is not installed'
        : existsSync(NGINX_STREAM_MODULE)
          ? undefined
          : 'the nginx stream module is not installed (libnginx-mod-stream)',
    async start(context) {
      const ports = await l4Ports();
      const file = join(context.dir, `${this.name}.conf`);
      const logFile = log ? join(context.dir, `${this.name}-access.log`) : undefined;
      writeFileSync(file, nginxStreamConfig(context.dir, ports, upstreamL4(context.upstreams), logFile));
      const args = ['-p', context.dir, '-c', file];
      const bound = { httpPort: ports.http, bulkPort: ports.bulk };
      return launch(this, bound, 'nginx', args, context, { logFile });
    },
  };
}

function haproxyTarget(log: boolean): TargetSpec {
  return {
    name: log ? 'haproxy-log' : 'haproxy',
    layers: [log ? 'l7-log' : 'l7'],
    unavailable: needs('haproxy'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, `${this.name}-http.cfg`);
      writeFileSync(file, haproxyHttpConfig(port, context.upstreams.httpPort, undefined, log));
      const stdoutFile = log ? join(context.dir, `${this.name}.log`) : undefined;
      return launch(this, { httpPort: port }, 'haproxy', ['-db', '-f', file], context, { stdoutFile });
    },
  };
}

function haproxyTcpTarget(log: boolean): TargetSpec {
  return {
    name: log ? 'haproxy-tcp-log' : 'haproxy-tcp',
    layers: [log ? 'l4-log' : 'l4'],
    unavailable: needs('haproxy'),
    async start(context) {
      const ports = await l4Ports();
      const file = join(context.dir, `${this.name}.cfg`);
      writeFileSync(file, haproxyTcpConfig(ports, upstreamL4(context.upstreams), log));
      const stdoutFile = log ? join(context.dir, `${this.name}.log`) : undefined;
      const bound = { httpPort: ports.http, bulkPort: ports.bulk };
      return launch(this, bound, 'haproxy', ['-db', '-f', file], context, { stdoutFile });
    },
  };
}

export const TARGETS: TargetSpec[] = [
  {
    name: 'direct',
    layers: ['l4', 'l7', 'h2'],
    unavailable: () => undefined,
    start: async ({ upstreams }) => ({
      name: 'direct',
      layers: upstreams.h2Port === undefined ? ['l4', 'l7'] : ['l4', 'l7', 'h2'],
      httpPort: upstreams.httpPort,
      bulkPort: upstreams.bulkPort,
      h2Port: upstreams.h2Port,
    }),
  },
  ...portsideTargets(),
  nginxTarget(false),
  nginxStreamTarget(false),
  haproxyTarget(false),
  {
    name: 'nginx-tls',
    layers: ['tls'],
    unavailable: needs('nginx'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'nginx-tls.conf');
      writeFileSync(file, nginxProxyConfig(context.dir, port, context.upstreams.httpPort, tlsFiles(context)));
      return launch(this, { httpPort: port }, 'nginx', ['-p', context.dir, '-c', file], context);
    },
  },
  {
    name: 'haproxy-tls',
    layers: ['tls'],
    unavailable: needs('haproxy'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'haproxy-tls.cfg');
      writeFileSync(file, haproxyHttpConfig(port, context.upstreams.httpPort, tlsFiles(context)));
      return launch(this, { httpPort: port }, 'haproxy', ['-db', '-f', file], context);
    },
  },
  {
    name: 'nginx-h2',
    layers: ['h2'],
    unavailable: needs('nginx'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'nginx-h2.conf');
      writeFileSync(file, nginxH2Config(context.dir, port, context.upstreams.h2Port!));
      return launch(this, { httpPort: port }, 'nginx', ['-p', context.dir, '-c', file], context);
    },
  },
  {
    name: 'haproxy-h2',
    layers: ['h2'],
    unavailable: needs('haproxy'),
    async start(context) {
      const port = await freePort();
      const file = join(context.dir, 'haproxy-h2.cfg');
      writeFileSync(file, haproxyH2Config(port, context.upstreams.h2Port!));
      return launch(this, { httpPort: port }, 'haproxy', ['-db', '-f', file], context);
    },
  },
  haproxyTcpTarget(false),
  nginxTarget(true),
  haproxyTarget(true),
  nginxStreamTarget(true),
  haproxyTcpTarget(true),
  httpProxyTarget('http-proxy', 'naive'),
  httpProxyTarget('http-proxy-ka', 'keepalive'),
  {
    name: 'h2-floor',
    layers: ['h2'],
    unavailable: () => undefined,
    async start(context) {
      const port = await freePort();
      const [node, args] = benchScript('h2-floor-proxy');
      // Portside's own V8 flags (its small young generation), so the two differ only in code.
      const flags = nodeFlagsOf(portsideCli(context.repoRoot));
      const upstream = String(context.upstreams.h2Port);
      return launch(this, { httpPort: port }, node, [...flags, ...args, String(port), upstream], context);
    },
  },
  {
    name: 'undici-floor',
    layers: ['l7'],
    unavailable: () => undefined,
    async start(context) {
      const port = await freePort();
      const [node, args] = benchScript('undici-proxy-server');
      const target = `http://127.0.0.1:${context.upstreams.httpPort}`;
      return launch(this, { httpPort: port }, node, [...args, String(port), target], context);
    },
  },
];
