import { parseArgs } from 'node:util';
import type { Framework } from './app.js';
import { type RunningDemo, startDemo } from './start.js';

const HELP = `ssekit demo: a stock ticker, a server-performance feed, a finite word stream, per-client notifications and a chat.

Usage: pnpm demo [--fastify | --express] [--port N] [--host ADDRESS] [--redis URL]

  --fastify, --express   the framework serving the page and the API (env DEMO_FRAMEWORK; default express)
  --port N               port to listen on; 0 picks a free one (env PORT; default 3000)
  --host ADDRESS         address to listen on (env HOST; default 127.0.0.1, use 0.0.0.0 for other machines)
  --redis URL            share the hub with other instances through Redis (env REDIS_URL)
  --instance NAME        this instance's name on the page (env DEMO_INSTANCE; default <framework>:<port>)
  --no-ticker            do not run the stock ticker here (env DEMO_TICKER=off), for the second of two instances

Two instances on one Redis hub (Express on 3000, Fastify on 3001):
  REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @ssekit/demo cluster
`;

function fail(message: string): never {
  console.error(`ssekit demo: ${message}\nRun \`pnpm demo --help\` for the options.`);
  process.exit(2);
}

function readOptions() {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse().values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  if (values.fastify && values.express) fail('choose one of --fastify and --express.');
  const env = process.env;
  const framework = values.fastify ? 'fastify' : values.express ? 'express' : (env.DEMO_FRAMEWORK ?? 'express');
  if (framework !== 'express' && framework !== 'fastify') {
    fail(`DEMO_FRAMEWORK must be "express" or "fastify", got ${JSON.stringify(framework)}.`);
  }
  const rawPort = values.port ?? env.PORT ?? '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535)
    fail(`the port must be a number from 0 to 65535, got ${JSON.stringify(rawPort)}.`);
  const ticker = !(values['no-ticker'] || ['off', 'false', '0', 'no'].includes((env.DEMO_TICKER ?? '').toLowerCase()));
  return {
    framework: framework as Framework,
    port,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    redisUrl: values.redis ?? (env.REDIS_URL || undefined),
    instance: values.instance ?? (env.DEMO_INSTANCE || undefined),
    ticker,
  };
}

function parse() {
  return parseArgs({
    // `pnpm demo -- --fastify` hands the separator through; it is not a positional.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      fastify: { type: 'boolean' },
      express: { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      redis: { type: 'string' },
      instance: { type: 'string' },
      'no-ticker': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const options = readOptions();
let demo: RunningDemo;
try {
  demo = await startDemo(options);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') fail(`port ${options.port} is already in use: try PORT=${options.port + 1} pnpm demo.`);
  if (code === 'EACCES') fail(`no permission to listen on port ${options.port}: pick one above 1023.`);
  throw error;
}

const framework = demo.framework === 'fastify' ? 'Fastify' : 'Express';
const broker = demo.broker === 'redis' ? `the Redis broker (${redact(options.redisUrl ?? '')})` : 'the in-memory hub';
console.log(`\n  ssekit demo on ${framework}, ${broker}, instance ${demo.instance}\n`);
console.log(`  ➜  ${demo.url}\n`);
const other = demo.framework === 'express' ? '--fastify' : '--express';
if (demo.broker === 'memory') {
  console.log(`  On ${demo.framework === 'express' ? 'Fastify' : 'Express'} instead: pnpm demo ${other}`);
  console.log('  Several instances on one hub: set REDIS_URL (see pnpm demo --help)');
} else {
  console.log(`  Another instance on this hub: PORT=${demo.port + 1} REDIS_URL=… pnpm demo ${other} --no-ticker`);
}
console.log('  Stop: Ctrl+C\n');

let stopping = 0;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping !== 0) {
    // One Ctrl+C can arrive more than once: the terminal signals the whole process group, and pnpm and tsx relay
    // it too. Only a second press, a moment later, means "now".
    if (Date.now() - stopping < 500) return;
    console.log(`\n${signal} again: exiting now.`);
    process.exit(1);
  }
  stopping = Date.now();
  console.log(`\n${signal}: closing ${demo.hub.size} connection(s), each told to come back within 1 to 3 s…`);
  try {
    await demo.close();
    console.log('Closed.');
  } catch (error) {
    console.error('The demo did not close cleanly:', error);
    process.exitCode = 1;
  }
  // The process exits by itself once nothing is left; should a stray handle remain, this makes sure it does.
  setTimeout(() => process.exit(), 1000).unref();
}
// A second signal while closing forces the exit.
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

/** A Redis URL without its password, for the console. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an invalid URL';
  }
}
