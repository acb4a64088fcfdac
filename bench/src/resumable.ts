/**
 * `pnpm --filter @ssekit/bench resumable`: the figures of docs/benchmarks.md's "Resumable streams" section, measured
 * with the built packages (dist) on node:http, and against a redis-server this script starts on a free port:
 *
 * 1. token latency: a producer stamps each token with `performance.now()` when it yields it; the client (same
 *    process, one raw socket per stream, the bench's own SSE parser) takes the difference when the event is parsed.
 *    Against a raw node:http server that `res.write`s each token the moment it is made (the least a server does),
 *    a resumable stream on the in-memory log, and one on the Redis log (loopback). `STREAMS` streams at once, each
 *    `TOKENS` tokens, one every `PACE` ms (jittered);
 * 2. memory of active resumable streams: the heap (after forced GCs) with `N` streams of `M` tokens each, producers
 *    still running and one reader each, minus the heap with `N` plain SSE connections that received the same
 *    events; and on Redis, `MEMORY USAGE` of one stream's keys and `INFO memory` for `N` streams.
 *
 * The script allows itself forced GCs (`--expose-gc`, set at run time). Bounded by a watchdog (150 s after the build).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type * as Core from '@ssekit/core';
import type * as Adapter from '@ssekit/core/adapter';
import type { Broker } from '@ssekit/core/broker';
import type * as Redis from '@ssekit/redis';
import { bucketOf, createHistogram, quantileMs } from './client/histogram.js';
import { HttpResponseReader } from './client/http-response.js';
import { SseEventParser } from './client/sse-event-parser.js';
import { freePort, redisCommand } from './redis-scale/servers.js';
import { buildPackages } from './runner/build.js';

const STREAMS = Number(process.env.STREAMS ?? 100);
const TOKENS = Number(process.env.TOKENS ?? 200);
const PACE = Number(process.env.PACE ?? 5);
const N = Number(process.env.N ?? 1000);
const M = Number(process.env.M ?? 200);
/** A token as a model SDK gives it, about 4 characters of text in a small JSON object. */
const tokenOf = (stamp: number) => JSON.stringify({ t: 'word', at: stamp });

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let core: typeof Core;
let adapter: typeof Adapter;
let redisPkg: typeof Redis;

interface Server {
  port: number;
  close(): Promise<void>;
}

function listen(handler: http.RequestListener): Promise<Server> {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** One SSE request over a raw socket; `onEvent` gets each event's data. Resolves when the response ends. */
function read(port: number, method: string, onEvent: (type: string, data: string) => void, body = '{}') {
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  const parser = new SseEventParser({ event: (event) => onEvent(event.type, event.data), retry: () => {} });
  const reader = new HttpResponseReader(parser, () => {});
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk, 0, chunk.length);
    if (reader.complete) socket.destroy();
  });
  socket.write(
    `${method} /s HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, ended };
}

async function* tokens(count: number, pace: number, signal: AbortSignal, hold?: Promise<void>) {
  for (let i = 0; i < count && !signal.aborted; i++) {
    if (pace > 0) await sleep(pace * (0.5 + Math.random()));
    yield { event: 'token', data: tokenOf(performance.now()) };
  }
  if (hold !== undefined) await hold;
}

/** A resumable route on node:http, as the adapters serve one (resolveConnectOptions once, openConnection per request). */
async function resumableServer(hub: Core.Hub, producer: (signal: AbortSignal) => AsyncIterable<unknown>) {
  const route = adapter.resolveConnectOptions<http.IncomingMessage>({
    hub,
    heartbeat: false,
    resumable: { grace: 1000, ttl: 60_000 },
  });
  return listen((req, res) => {
    req.resume();
    adapter.openConnection(hub, route, req, req, res).then(
      (stream) => {
        if (stream !== undefined) {
          void adapter.runRouteHandler(route, stream, () => stream.resumable(producer as Core.Producer<Core.EventMap>));
        }
      },
      () => res.destroy(),
    );
  });
}

/** Runs STREAMS streams at once and returns the latency histogram of their tokens. */
async function latency(port: number): Promise<{ p50: number; p99: number; count: number }> {
  const histogram = createHistogram();
  let count = 0;
  const reads = Array.from({ length: STREAMS }, () =>
    read(port, 'POST', (type, data) => {
      if (type !== 'token') return;
      const at = (JSON.parse(data) as { at: number }).at;
      const bucket = bucketOf((performance.now() - at) * 1000);
      histogram[bucket] = (histogram[bucket] ?? 0) + 1;
      count++;
    }),
  );
  await Promise.all(reads.map((r) => r.ended));
  return { p50: round(quantileMs(histogram, 0.5)), p99: round(quantileMs(histogram, 0.99)), count };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

async function rawLatency() {
  const server = await listen((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let id = 0;
    const next = () => {
      if (res.destroyed) return;
      if (id === TOKENS) {
        res.end();
        return;
      }
      id++;
      res.write(`event: token\nid: ${id}\ndata: ${tokenOf(performance.now())}\n\n`);
      setTimeout(next, PACE * (0.5 + Math.random()));
    };
    setTimeout(next, PACE * (0.5 + Math.random()));
  });
  try {
    return await latency(server.port);
  } finally {
    await server.close();
  }
}

async function resumableLatency(broker?: Broker) {
  const hub = core.createHub({ broker });
  const server = await resumableServer(hub, (signal) => tokens(TOKENS, PACE, signal));
  try {
    return await latency(server.port);
  } finally {
    await server.close();
    await hub.close();
  }
}

async function heap(): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

/** Heap per stream: N resumable streams of M tokens (producers running, a reader each) against N plain streams. */
async function memory(broker?: Broker) {
  let release!: () => void;
  const hold = new Promise<void>((resolve) => {
    release = resolve;
  });
  // Plain SSE connections that got the same M events: what a connection costs without the resumable machinery.
  const plainHub = core.createHub({});
  const plainRoute = adapter.resolveConnectOptions<http.IncomingMessage>({ hub: plainHub, heartbeat: false });
  const plain = await listen((req, res) => {
    req.resume();
    void adapter.openConnection(plainHub, plainRoute, req, req, res).then(async (stream) => {
      for (let i = 0; i < M && stream !== undefined && !stream.closed; i++) {
        stream.send(tokenOf(performance.now()), { event: 'token' });
        if (i % 50 === 49) await sleep(0);
      }
    });
  });
  const before = await heap();
  const plainReads = [];
  let plainEvents = 0;
  for (let i = 0; i < N; i++) plainReads.push(read(plain.port, 'POST', () => plainEvents++));
  while (plainEvents < N * M) await sleep(20);
  const withPlain = await heap();
  for (const r of plainReads) r.socket.destroy();
  await Promise.all(plainReads.map((r) => r.ended));
  await plain.close();
  await plainHub.close();
  const plainPerStream = (withPlain - before) / N;

  const hub = core.createHub({ broker });
  const server = await resumableServer(hub, (signal) => tokens(M, 0, signal, hold));
  const base = await heap();
  const reads = [];
  let events = 0;
  for (let i = 0; i < N; i++) reads.push(read(server.port, 'POST', () => events++));
  // Each stream: ssekit-stream and M tokens; its producer then waits (still active) until released.
  while (events < N * (M + 1)) await sleep(20);
  const loaded = await heap();
  release();
  for (const r of reads) r.socket.destroy();
  await server.close();
  await hub.close();
  return {
    heapPerStreamKiB: round((loaded - base) / N / 1024),
    plainConnectionKiB: round(plainPerStream / 1024),
    resumableOverPlainKiB: round((loaded - base - (withPlain - before)) / N / 1024),
  };
}

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const stop = () => child.kill('SIGKILL');
  process.once('exit', stop);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await redisCommand(url, ['PING']);
      return { url, stop };
    } catch {
      await sleep(50);
    }
  }
  throw new Error('redis-server did not start');
}

async function usedMemory(url: string): Promise<number> {
  const info = String(await redisCommand(url, ['INFO', 'memory']));
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function redisMemory(url: string) {
  const key = `bench:${process.pid}`;
  const broker = redisPkg.createRedisBroker({ url }, { key });
  const log = broker.streams;
  const before = await usedMemory(url);
  const entry = { event: 'token', data: tokenOf(performance.now()) };
  const limits = { maxEvents: 100_000, maxBytes: 16 << 20, ttl: 600_000 };
  for (let i = 0; i < N; i++) {
    const created = await log.create(`s${i}`, 'user-1', limits);
    if (!created.ok) throw new Error('exists');
    await Promise.all(Array.from({ length: M }, () => log.append(`s${i}`, created.generation, entry)));
  }
  const after = await usedMemory(url);
  const one = await Promise.all(
    ['m', 'l', 't'].map(async (suffix) =>
      Number(await redisCommand(url, ['MEMORY', 'USAGE', `${key}:rs:{s0}:${suffix}`, 'SAMPLES', '0'])),
    ),
  );
  await broker.close();
  return {
    usedMemoryPerStreamKiB: round((after - before) / N / 1024),
    memoryUsageOneStreamKiB: round(one.reduce((a, b) => a + b, 0) / 1024),
    entryBytes: Buffer.byteLength(JSON.stringify([entry.data, entry.event])),
  };
}

async function main(): Promise<void> {
  buildPackages();
  // After the build, which blocks the loop for as long as it takes.
  setTimeout(() => {
    console.error('resumable: still running after 150 s; stopped.');
    process.exit(1);
  }, 150_000).unref();
  core = await import('@ssekit/core');
  adapter = await import('@ssekit/core/adapter');
  redisPkg = await import('@ssekit/redis');
  const redis = await startRedis();
  console.log(`node ${process.version}; ${STREAMS} streams x ${TOKENS} tokens, one every ${PACE} ms (jittered)`);
  // Warm-up: JIT, sockets, scripts.
  await rawLatency();
  await resumableLatency();
  const raw = await rawLatency();
  const memoryLog = await resumableLatency();
  const broker = redisPkg.createRedisBroker({ url: redis.url }, { key: `bench-lat:${process.pid}` });
  const onRedis = await resumableLatency(broker);
  await broker.close();
  console.log('token latency, ms (p50 / p99):');
  console.log(`  raw res.write on node:http       ${raw.p50} / ${raw.p99}   (${raw.count} tokens)`);
  console.log(`  resumable, in-memory log         ${memoryLog.p50} / ${memoryLog.p99}   (${memoryLog.count} tokens)`);
  console.log(`  resumable, Redis log (loopback)  ${onRedis.p50} / ${onRedis.p99}   (${onRedis.count} tokens)`);
  const mem = await memory();
  console.log(`memory, ${N} active streams of ${M} tokens, in-memory log (server and client in one process):`);
  console.log(`  heap per resumable stream (log, producer, reader, both sockets): ${mem.heapPerStreamKiB} KiB`);
  console.log(`  heap per plain SSE connection that got the same events:          ${mem.plainConnectionKiB} KiB`);
  console.log(`  resumable over plain:                                            ${mem.resumableOverPlainKiB} KiB`);
  const onRedisMemory = await redisMemory(redis.url);
  console.log(`Redis, ${N} streams of ${M} tokens (${onRedisMemory.entryBytes} bytes per entry as stored):`);
  console.log(`  INFO used_memory per stream: ${onRedisMemory.usedMemoryPerStreamKiB} KiB`);
  console.log(
    `  MEMORY USAGE of one stream's keys (meta, list, tombstone): ${onRedisMemory.memoryUsageOneStreamKiB} KiB`,
  );
  redis.stop();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
