/**
 * The commands of `portside`, each with its own help and the options it accepts. Kept free
 * of the modules the commands load, so that parsing the command line loads nothing else.
 */
import { LOG_LEVELS } from '../core/log-levels.js';

export interface Command {
  name: string;
  /** One line for the global help. */
  summary: string;
  usage: string;
  /** Options this command accepts (long names; --help is always accepted). */
  options: readonly string[];
  help: string;
}

const LOG_OPTIONS = `      --log-level LEVEL           ${LOG_LEVELS.join(' | ')} (default: info)`;

export const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    summary: 'serve until SIGTERM/SIGINT, then drain and exit',
    usage: 'portside run --config FILE',
    options: ['config', 'log-level', 'log-pretty'],
    help: `Loads and checks FILE, binds its listeners and serves. The file is reloaded when it
changes and on SIGHUP; SIGTERM or SIGINT drains open connections for drainTimeout.

Options:
  -c, --config FILE               the config file (or give FILE after "run")
${LOG_OPTIONS}
      --log-pretty                human-readable logs instead of JSON lines (needs pino-pretty)
`,
  },
  {
    name: 'validate',
    summary: 'check config files; print every problem as FILE:LINE:COL field: message',
    usage: 'portside validate [--print-defaults [--output yaml|json]] FILE... | -',
    options: ['config', 'print-defaults', 'output'],
    help: `Checks each FILE (or the config on standard input for "-") and prints every problem
at once. Exits 0 when every file is valid (warnings allowed), 1 when one is not, 2 for
a usage error.

Options:
      --print-defaults            print the effective config, every default filled in
                                  (secrets hidden); one FILE only
  -o, --output yaml|json          the format of --print-defaults (default: yaml)
`,
  },
  {
    name: 'explain',
    summary: 'show which route, cluster and endpoint a request, TCP connection or UDP session gets, and why',
    usage: 'portside explain [-c FILE] [--admin URL] METHOD URL [-H "name: value"]... | tcp|udp|tls LISTENER',
    options: ['config', 'admin', 'header', 'listener', 'client', 'sni', 'output'],
    help: `Explains a request (METHOD URL), or a TCP, UDP or TLS passthrough listener (tcp NAME,
udp ADDRESS, tls NAME --sni SERVER-NAME): which route matches and why each earlier route does not, which cluster (a weighted route: the
split), every endpoint with whether it is usable and why not, and the endpoint the
policy picks next. Offline it reads FILE: static endpoints, health unknown, discovery
sources not contacted. With --admin it asks the running proxy, which shows live health
(an explain's pick counts as a pick: a round robin moves on by one).
Exits 0 when the request or connection would be forwarded, 1 when not, 2 for a usage error.

Options:
  -c, --config FILE               the config file (with --admin: only for admin.token)
      --admin URL                 the admin API of the running proxy, e.g. http://127.0.0.1:9901
                                  (token: admin.token of FILE, else PORTSIDE_ADMIN_TOKEN)
  -H, --header "NAME: VALUE"      a request header (repeatable); Host defaults to the URL's
      --listener NAME|ADDRESS     the listener to explain (default: the one on the URL's port,
                                  else every http listener)
      --client IP                 the client address, for source_hash and affinity
      --sni NAME                  tls LISTENER (passthrough): the server name the client asks for
  -o, --output text|json          the format (default: text)

Examples:
  portside explain -c portside.yaml GET http://api.local:8080/v1/users -H 'x-canary: 1'
  portside explain --admin http://127.0.0.1:9901 tcp redis
`,
  },
  {
    name: 'schema',
    summary: 'print the JSON Schema of the config file (for editors)',
    usage: 'portside schema',
    options: ['generate'],
    help: `Prints the JSON Schema of the config file, as shipped in schema/portside.schema.json.
Editors that speak the YAML language server read it from a modeline:
  # yaml-language-server: $schema=<path or URL of portside.schema.json>

Options:
      --generate                  generate it from the schema code instead of reading the
                                  shipped file (how the shipped file is made)
`,
  },
  {
    name: 'register',
    summary: 'announce an application in etcd until SIGTERM/SIGINT (or --once)',
    usage: 'portside register --service NAME --address HOST --port N [options]',
    options: [
      'etcd',
      'prefix',
      'service',
      'address',
      'port',
      'id',
      'ttl',
      'weight',
      'zone',
      'node',
      'meta',
      'check-tcp',
      'check-http',
      'check-interval',
      'username',
      'once',
      'log-level',
    ],
    help: `Writes HOST:N under <prefix><service>/<id> in etcd on a lease, renews it until SIGTERM
or SIGINT, then withdraws it. A cluster discovers it with discovery.etcd.prefix
<prefix><service>/. The flags go through the same checks as a register: entry in a file.

Options:
      --service NAME              the service (required)
      --address HOST              host or IP other nodes dial, without a port (required)
      --port N                    the application's port (required)
      --etcd URL                  etcd client URL; repeat for failover (default http://127.0.0.1:2379)
      --prefix PREFIX             key prefix (default /services/)
      --id ID                     instance key below the service (default HOST:N)
      --ttl DURATION              lease time, whole seconds (default 10s)
      --weight N                  balancing weight (default 1)
      --zone ZONE, --node NODE    locality labels (default $ZONE, $NODE_NAME)
      --meta KEY=VALUE            metadata; repeatable
      --check-tcp                 announce only while HOST:N accepts connections
      --check-http PATH           announce only while GET PATH answers 200-399
      --check-interval DURATION   check interval (default 2s)
      --username USER             etcd user; the password comes from $PORTSIDE_ETCD_PASSWORD
      --once                      write the entry and exit; it expires after --ttl (with a
                                  check: only if it passes now, else exit 1)
${LOG_OPTIONS}
`,
  },
  {
    name: 'demo',
    summary: 'start two local upstreams and a proxy in front of them',
    usage: 'portside demo [--port N]',
    options: ['port', 'log-level'],
    help: `Starts two HTTP upstreams on free ports and Portside in front of them: an HTTP
listener on N (default 10000) and a TCP one on N+1.

Options:
      --port N                    the first listener's port (default: 10000; 0 for any)
${LOG_OPTIONS}
`,
  },
];

export const GLOBAL_HELP = `portside — a node-local L4/L7 proxy with service discovery and load balancing

Usage:
${COMMANDS.map((c) => `  ${c.usage}\n      ${c.summary}`).join('\n')}
  portside help COMMAND | portside COMMAND --help
      the options of one command

Options:
  -v, --version                   print the version
  -h, --help                      print this help
`;

export function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.help}`;
}
