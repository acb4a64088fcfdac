/**
 * JS heap per idle SSE connection, measured in one server process against its framework's floor: a route of the
 * same framework that writes the SSE head itself and keeps the response (what any server must hold). The figures
 * of docs/benchmarks.md's "own heap" come from the bench; this tool gives the same difference in a few seconds, and
 * a heap snapshot of each case to see what an idle connection holds (open them in Chrome DevTools, Memory tab, and
 * compare a case with its floor).
 *
 * Plain JavaScript on the built packages (`pnpm build` first), run without tsx: tsx's keepNames would give every
 * function of ssekit a property of its own and inflate the figures.
 *
 * Usage: `pnpm --filter @ssekit/bench exec node src/tools/heap-per-connection.mjs [count] [snapshot-dir]`
 */
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { writeHeapSnapshot } from 'node:v8';
import { createHub, createStream } from '@ssekit/core';
import { sse } from '@ssekit/express';
import ssekit from '@ssekit/fastify';
import express from 'express';
import Fastify from 'fastify';

const CASES = ['raw', 'core', 'express-raw', 'express', 'fastify-raw', 'fastify'];
const FLOOR = { core: 'raw', express: 'express-raw', fastify: 'fastify-raw' };

if (process.argv[2] === 'client') {
  // The client side, in a child process: opens `count` connections and reports when every head has arrived.
  const [, , , port, count] = process.argv;
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  let open = 0;
  for (let i = 0; i < Number(count); i++) {
    request({ host: '127.0.0.1', port: Number(port), path: '/', agent }, (res) => {
      res.resume();
      if (++open === Number(count)) process.send?.('open');
    }).end();
  }
} else if (process.argv[2] === 'case') {
  // One case in a process of its own: what earlier cases left behind would skew the figures.
  const [, , , name, count, snapshots] = process.argv;
  const perConnection = await measure(name, Number(count), snapshots);
  process.send?.(perConnection);
  process.exit(0);
} else {
  const count = Number(process.argv[2] ?? 3000);
  const snapshots = process.argv[3];
  if (!Number.isSafeInteger(count) || count < 100 || count > 20000) throw new Error('count: 100 to 20,000');
  const results = {};
  for (const name of CASES) {
    const args = ['case', name, String(count), ...(snapshots === undefined ? [] : [snapshots])];
    const child = fork(new URL(import.meta.url).pathname, args, { execArgv: ['--expose-gc'] });
    results[name] = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`case ${name} exited with ${code}`)));
    });
  }
  for (const name of CASES) {
    const floor = FLOOR[name];
    const own = floor === undefined ? '' : `  ssekit's own part: ${Math.round(results[name] - results[floor])} B`;
    console.log(`${name.padEnd(12)} ${Math.round(results[name])} B/conn${own}`);
  }
}

async function measure(name, count, snapshots) {
  const server = await serve(name);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const heap = () => {
    for (let i = 0; i < 4; i++) globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const before = heap();
  const client = fork(new URL(import.meta.url).pathname, ['client', String(server.address().port), String(count)]);
  await new Promise((resolve) => client.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const perConnection = (heap() - before) / count;
  if (snapshots !== undefined) writeHeapSnapshot(`${snapshots}/${name}.heapsnapshot`);
  client.kill();
  return perConnection;
}

async function serve(name) {
  const hub = createHub();
  const held = new Set();
  const rawOpen = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    held.add(res);
    res.on('close', () => held.delete(res));
  };
  if (name === 'raw') return createServer(rawOpen);
  if (name === 'core') return createServer((req, res) => void hub.attach(createStream(req, res)));
  if (name === 'express' || name === 'express-raw') {
    const app = express();
    app.get('/', name === 'express' ? sse({ hub }) : rawOpen);
    return createServer(app);
  }
  const app = Fastify();
  await app.register(ssekit, { hub });
  if (name === 'fastify') app.get('/', { sse: true }, async () => undefined);
  else
    app.get('/', (req, reply) => {
      reply.hijack();
      rawOpen(req.raw, reply.raw);
    });
  await app.ready();
  return app.server;
}
