import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBalancer } from './balancer.js';

/**
 * Two demo instances on one Redis hub: Express on PORT (default 3000) and Fastify on PORT + 1, sharing events,
 * history, client ids and resumable streams through REDIS_URL. Open one tab on each and send between them. On
 * PORT + 2, a round-robin balancer in front of both: there, a dropped chat answer resumes on the other instance.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @ssekit/demo cluster
 *
 * The stock ticker runs on the first instance only (a feed is published once, not once per instance); each instance
 * publishes its own performance samples, so the page shows both.
 */

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  console.error(
    'The cluster shares its hub through Redis: set REDIS_URL, e.g.\n' +
      '  redis-server --port 6379 &   # or any Redis 6.2+\n' +
      '  REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @ssekit/demo cluster',
  );
  process.exit(2);
}
const base = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(base) || base < 1 || base > 65_533) {
  console.error(
    `PORT must be a number from 1 to 65533 (the second instance takes PORT + 1, the balancer PORT + 2), got ${process.env.PORT}.`,
  );
  process.exit(2);
}

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const instances = [
  { port: base, framework: 'express', ticker: 'on' },
  { port: base + 1, framework: 'fastify', ticker: 'off' },
];

const children: ChildProcess[] = instances.map(({ port, framework, ticker }) => {
  // The same Node flags as this process (tsx's loader, which reads @ssekit/* from source), for the same entry point.
  const child = spawn(process.execPath, [...process.execArgv, main], {
    env: { ...process.env, PORT: String(port), DEMO_FRAMEWORK: framework, DEMO_TICKER: ticker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${framework}:${port}] `;
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    let rest = '';
    from?.setEncoding('utf8');
    from?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') to.write(`${prefix}${line}\n`);
    });
  }
  return child;
});

const host = process.env.HOST ?? '127.0.0.1';
const local = (port: number) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
const balancer = await startBalancer({ targets: instances.map(({ port }) => local(port)), port: base + 2, host }).catch(
  (error: Error) => {
    console.error(`The balancer could not listen on port ${base + 2}: ${error.message}`);
    return undefined;
  },
);
if (balancer) {
  console.log(
    `\n  Balancer in front of both: http://localhost:${balancer.port}\n` +
      '  (requests take turns; a dropped chat answer resumes on the other instance)\n',
  );
}

let stopping = false;
function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  void balancer?.close();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

let exited = 0;
let failed = false;
for (const child of children) {
  child.on('exit', (code) => {
    exited++;
    if (code !== 0) failed = true;
    // One instance gone for good takes the other down: a half cluster would only confuse.
    if (!stopping) stopAll('SIGTERM');
    if (exited === children.length) process.exit(failed ? 1 : 0);
  });
}
process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
