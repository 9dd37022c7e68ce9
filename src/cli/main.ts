#!/usr/bin/env -S node --max-semi-space-size=2
import { parseArgs } from 'node:util';
import { suggest } from '../config/suggest.js';
import { LOG_LEVELS, type LogLevel } from '../core/log-levels.js';
import { packageVersion } from '../core/package-info.js';
import type { ExplainQuery } from '../explain/explanation.js';
import { parseHeaderLines } from '../explain/query.js';
import { COMMANDS, type Command, commandHelp, GLOBAL_HELP } from './commands.js';
import { pauseOptimizingCompiler } from './optimizing-compiler.js';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals, tokens } = parsed;
  if (values.version) {
    process.stdout.write(`portside ${packageVersion()}\n`);
    return 0;
  }
  const [name, ...args] = positionals;
  if (name === undefined || (name === 'help' && args.length === 0)) {
    process.stdout.write(GLOBAL_HELP);
    return values.help || name === 'help' ? 0 : 2;
  }
  const helpFor = name === 'help' ? args[0]! : name;
  const command = COMMANDS.find((c) => c.name === helpFor);
  if (!command) {
    const hint = suggest(helpFor, [...COMMANDS.map((c) => c.name), 'help']);
    return usage(`unknown command "${helpFor}"${hint}`);
  }
  if (values.help || name === 'help') {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  for (const token of tokens) {
    if (token.kind === 'option' && !['help', 'version', ...command.options].includes(token.name))
      return usage(`${command.name} has no option --${token.name}`, command);
  }
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    return usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got "${logLevel}"`, command);

  switch (command.name) {
    case 'run': {
      const configFile = values.config ?? args[0];
      if (!configFile) return usage('run needs --config FILE', command);
      if (args.length > (values.config ? 0 : 1)) return usage('run takes one config file', command);
      // Each command loads only its own modules: `run` keeps the YAML parser and the schema
      // out of the proxy's process (see config/load-in-child.ts), and starts with the
      // optimizing compiler paused (see optimizing-compiler.ts).
      const resumeOptimizingCompiler = pauseOptimizingCompiler();
      const { runCommand } = await import('./run.js');
      return runCommand({
        configFile,
        logLevel,
        logPretty: values['log-pretty'] === true,
        afterStart: resumeOptimizingCompiler,
      });
    }
    case 'validate': {
      const files = values.config ? [values.config, ...args] : args;
      if (files.length === 0) return usage('validate needs a FILE (or "-" for standard input)', command);
      const printEffective = values['print-defaults'] === true;
      const output = values.output ?? 'yaml';
      if (output !== 'yaml' && output !== 'json')
        return usage(`--output must be yaml or json; got "${output}"`, command);
      if (values.output !== undefined && !printEffective)
        return usage('--output applies to --print-defaults', command);
      if (printEffective && files.length > 1)
        return usage('--print-defaults prints one config: give one FILE', command);
      const { validateCommand } = await import('./validate.js');
      return validateCommand({ files, printEffective, output });
    }
    case 'explain': {
      const output = values.output ?? 'text';
      if (output !== 'text' && output !== 'json')
        return usage(`--output must be text or json; got "${output}"`, command);
      if (values.config === undefined && values.admin === undefined)
        return usage('explain needs --config FILE or --admin URL', command);
      const headers = parseHeaderLines(values.header ?? []);
      if (typeof headers === 'string') return usage(headers, command);
      const client = values.client === undefined ? {} : { clientAddress: values.client };
      let query: ExplainQuery;
      if (args[0] === 'tcp' || args[0] === 'udp' || args[0] === 'tls') {
        if (args.length !== 2)
          return usage(`explain ${args[0]} takes one LISTENER (a name or address)`, command);
        if (values.header || values.listener) return usage('-H and --listener are for requests', command);
        const sni = values.sni === undefined ? {} : { serverName: values.sni };
        query = { kind: 'tcp', listener: args[1]!, ...client, ...sni };
      } else {
        if (args.length !== 2) return usage('explain needs METHOD URL (or tcp LISTENER)', command);
        if (values.sni !== undefined) return usage('--sni is for a tls LISTENER', command);
        const listener = values.listener === undefined ? {} : { listener: values.listener };
        query = { kind: 'http', method: args[0]!, url: args[1]!, headers, ...listener, ...client };
      }
      const { explainCommand } = await import('./explain.js');
      return explainCommand({ configFile: values.config, admin: values.admin, query, output });
    }
    case 'schema': {
      if (args.length > 0) return usage('schema takes no arguments', command);
      const { schemaCommand } = await import('./schema.js');
      return schemaCommand({ generate: values.generate === true });
    }
    case 'demo': {
      if (args.length > 0) return usage('demo takes no arguments', command);
      const port = Number(values.port ?? '10000');
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        return usage(`--port must be 0-65535; got "${values.port}"`, command);
      const { demoCommand } = await import('./demo.js');
      return demoCommand({ port, logLevel });
    }
    case 'register': {
      if (args.length > 0)
        return usage('register takes no arguments; name the application with flags', command);
      const { registerCommand } = await import('./register.js');
      return registerCommand(values, logLevel);
    }
    default:
      return usage(`unknown command "${command.name}"`);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      'log-pretty': { type: 'boolean' },
      'print-defaults': { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      generate: { type: 'boolean' },
      port: { type: 'string' },
      admin: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      listener: { type: 'string' },
      client: { type: 'string' },
      sni: { type: 'string' },
      // register (see commands.ts for what each one means)
      etcd: { type: 'string', multiple: true },
      prefix: { type: 'string' },
      service: { type: 'string' },
      address: { type: 'string' },
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
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A usage error: the message, then how to get help (not the whole help: it would hide the message). */
function usage(message: string, command?: Command): number {
  const more = command ? `portside ${command.name} --help` : 'portside --help';
  process.stderr.write(`portside: ${message}\nSee "${more}".\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Servers and timers may still hold the loop (e.g. after a failed start); exit explicitly.
    setImmediate(() => process.exit(code));
  },
  (error) => {
    process.stderr.write(`portside: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
