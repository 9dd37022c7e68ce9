#!/usr/bin/env -S node --max-semi-space-size=2
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from '../core/log-levels.js';
import { pauseOptimizingCompiler } from './optimizing-compiler.js';
import { packageVersion } from './version.js';

const HELP = `portside — a node-local L4/L7 proxy with service discovery and load balancing

Usage:
  portside run --config FILE      serve until SIGTERM/SIGINT, then drain and exit
  portside validate FILE          check a config; print every problem as FILE:LINE:COL field: message
  portside validate --print-defaults FILE
                                  print the effective config with every default filled in
  portside demo [--port N]        start two local upstreams and a proxy in front of them
  portside register --service NAME --address HOST --port N [--once] ...
                                  announce an application in etcd until SIGTERM (register --help)

Options:
  -c, --config FILE               config file (for run)
      --log-level LEVEL           ${LOG_LEVELS.join(' | ')} (default: info)
      --log-pretty                human-readable logs instead of JSON lines
  -v, --version                   print the version
  -h, --help                      print this help
`;

async function main(argv: string[]): Promise<number> {
  // `register` has its own flags (register.ts), parsed there.
  if (argv[0] === 'register') {
    const { registerCommand } = await import('./register.js');
    return registerCommand(argv.slice(1));
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`portside: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`portside ${packageVersion()}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const logLevel = values['log-level'] as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    process.stderr.write(
      `portside: --log-level must be one of ${LOG_LEVELS.join(', ')}; got "${logLevel}"\n`,
    );
    return 2;
  }
  switch (command) {
    case 'run': {
      const configFile = values.config ?? positionals[1];
      if (!configFile) return usage('run needs --config FILE');
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
      const file = positionals[1] ?? values.config;
      if (!file) return usage('validate needs a FILE');
      const { validateCommand } = await import('./validate.js');
      return validateCommand({ file, printEffective: values['print-defaults'] === true });
    }
    case 'demo': {
      const port = Number(values.port ?? '10000');
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        return usage(`--port must be 0-65535; got "${values.port}"`);
      const { demoCommand } = await import('./demo.js');
      return demoCommand({ port, logLevel });
    }
    default:
      return usage(`unknown command "${command}"`);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string', default: 'info' },
      'log-pretty': { type: 'boolean' },
      'print-defaults': { type: 'boolean' },
      port: { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usage(message: string): number {
  process.stderr.write(`portside: ${message}\n\n${HELP}`);
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
