/**
 * Config files for the peers Portside is compared with, tuned the same way for all:
 * one worker/thread, keep-alive to the upstream, no access logging, request bodies streamed.
 * The `*-log` peers of the `*-default` scenarios log as they do out of the box (nginx's
 * `combined` access log, HAProxy's `option httplog` / `option tcplog`), to a file.
 */
import type { TlsFiles } from './tls-certificate.js';

/** Lines every nginx instance of the bench shares: foreground, one worker, files in `dir`. */
function nginxMain(dir: string, name: string): string {
  return `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 10000; }
`;
}

/** With `accessLog`, nginx's default access log (format `combined`, a write per line) to that file. */
function nginxHttpCommon(dir: string, name: string, accessLog?: string): string {
  return `
  access_log ${accessLog ?? 'off'};
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path ${dir}/${name}-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
`;
}

/** nginx as the HTTP upstream: /small, /64k (a file in `dir`), /upload (body read, then "ok"). */
export function nginxUpstreamConfig(dir: string, port: number, smallBody: string): string {
  return `${nginxMain(dir, 'upstream')}
http {
${nginxHttpCommon(dir, 'upstream')}
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /small { default_type text/plain; return 200 "${smallBody.replace(/\n/g, '\\n')}"; }
    location = /64k { default_type text/plain; alias ${dir}/64k; }
    # The body must be read before answering, as a real upload handler would: the mirror
    # module reads it, then the missing static file's 404 is turned into "200 ok".
    location = /upload {
      client_max_body_size 2m;
      client_body_buffer_size 2m;
      mirror /sink;
      mirror_request_body on;
      log_not_found off;
      error_page 404 405 =200 /ok;
    }
    location = /sink { internal; return 204; }
    location = /ok { internal; default_type text/plain; return 200 "ok\\n"; }
  }
}
`;
}

/** An nginx `upstream` block: one server, its idle connections kept for reuse. */
function nginxKeepAlivePool(name: string, upstreamPort: number): string {
  return `  upstream ${name} {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
  }`;
}

/**
 * TLS as the three TLS targets set it up: TLS 1.2 and 1.3 (1.3 is what every client of the
 * bench negotiates), and each server's default for session tickets (on, with keys made at
 * start) and its session cache (nginx: none; HAProxy: its own).
 */
function nginxTls(tls: TlsFiles): string {
  return `
    ssl_certificate ${tls.certificate};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;`;
}

/**
 * nginx as the L7 reverse proxy, with a keep-alive pool to the upstream; with `tls`,
 * terminating TLS; with `accessLog`, logging every request to that file.
 */
export function nginxProxyConfig(
  dir: string,
  port: number,
  upstreamPort: number,
  tls?: TlsFiles,
  accessLog?: string,
): string {
  const name = tls ? 'nginx-tls' : accessLog ? 'nginx-log' : 'nginx';
  return `${nginxMain(dir, name)}
http {
${nginxHttpCommon(dir, name, accessLog)}
${nginxKeepAlivePool('backend', upstreamPort)}
  server {
    listen 127.0.0.1:${port}${tls ? ' ssl' : ''} backlog=4096;${tls ? nginxTls(tls) : ''}
    client_max_body_size 0;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
    }
  }
}
`;
}

/**
 * nginx between h2c clients and an h2c upstream. nginx 1.22 cannot proxy HTTP/2 to an
 * upstream with `proxy_pass` (that is HTTP/1.x only); `grpc_pass` is its HTTP/2 upstream
 * module and forwards any request, so it carries both the small GETs and the gRPC calls.
 */
export function nginxH2Config(dir: string, port: number, upstreamPort: number): string {
  return `${nginxMain(dir, 'nginx-h2')}
http {
${nginxHttpCommon(dir, 'nginx-h2')}
${nginxKeepAlivePool('h2backend', upstreamPort)}
  server {
    listen 127.0.0.1:${port} http2 backlog=4096;
    client_max_body_size 0;
    location / {
      grpc_pass grpc://h2backend;
    }
  }
}
`;
}

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/**
 * nginx `stream` (L4) forwarding `ports.http` → the HTTP upstream and `ports.bulk` → the bulk
 * source; with `accessLog`, a line per connection to that file (`stream` has no default
 * format: this is the `basic` one of nginx's documentation).
 */
export function nginxStreamConfig(
  dir: string,
  ports: L4Ports,
  upstreams: L4Ports,
  accessLog?: string,
): string {
  const log = accessLog
    ? `  log_format basic '$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time';
  access_log ${accessLog} basic;
`
    : '';
  return `load_module ${NGINX_STREAM_MODULE};
${nginxMain(dir, accessLog ? 'nginx-stream-log' : 'nginx-stream')}
stream {
${log}  server { listen 127.0.0.1:${ports.http} backlog=4096; proxy_pass 127.0.0.1:${upstreams.http}; }
  server { listen 127.0.0.1:${ports.bulk} backlog=4096; proxy_pass 127.0.0.1:${upstreams.bulk}; }
}
`;
}

export interface L4Ports {
  http: number;
  bulk: number;
}

/**
 * With `log`, HAProxy logs to its standard output (HAProxy ≥ 2.0), which the bench sends to a
 * file as a daemon's would be: `httplog` (a line per request) in `mode http`, `tcplog` (a line
 * per connection, at its end) in `mode tcp`.
 */
function haproxyGlobal(log?: 'httplog' | 'tcplog'): string {
  return `
global
  nbthread 1
  maxconn 8000${log ? '\n  log stdout format raw local0' : ''}
defaults
  timeout connect 5s
  timeout client 120s
  timeout server 120s${log ? `\n  log global\n  option ${log}` : ''}
`;
}

/**
 * HAProxy `mode http`: keep-alive both sides, upstream connections reused across clients;
 * with `tls`, terminating TLS (1.2 and 1.3, as nginx); with `log`, `option httplog` to stdout.
 */
export function haproxyHttpConfig(port: number, upstreamPort: number, tls?: TlsFiles, log = false): string {
  const ssl = tls ? ` ssl crt ${tls.bundle} ssl-min-ver TLSv1.2` : '';
  return `${haproxyGlobal(log ? 'httplog' : undefined)}
  mode http
  option http-keep-alive
  http-reuse always
frontend web
  bind 127.0.0.1:${port}${ssl} backlog 4096
  maxconn 8000
  default_backend web
backend web
  server upstream 127.0.0.1:${upstreamPort}
`;
}

/** HAProxy `mode http` speaking HTTP/2 on both sides (h2c prior knowledge: `proto h2`). */
export function haproxyH2Config(port: number, upstreamPort: number): string {
  return `${haproxyGlobal()}
  mode http
  option http-keep-alive
  http-reuse always
frontend h2
  bind 127.0.0.1:${port} proto h2 backlog 4096
  maxconn 8000
  default_backend h2
backend h2
  server upstream 127.0.0.1:${upstreamPort} proto h2
`;
}

/** HAProxy `mode tcp`, the L4 peer; with `log`, `option tcplog` to stdout. */
export function haproxyTcpConfig(ports: L4Ports, upstreams: L4Ports, log = false): string {
  return `${haproxyGlobal(log ? 'tcplog' : undefined)}
  mode tcp
frontend http
  bind 127.0.0.1:${ports.http} backlog 4096
  maxconn 8000
  default_backend http
backend http
  server upstream 127.0.0.1:${upstreams.http}
frontend bulk
  bind 127.0.0.1:${ports.bulk}
  default_backend bulk
backend bulk
  server upstream 127.0.0.1:${upstreams.bulk}
`;
}
