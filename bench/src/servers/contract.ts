/**
 * The HTTP contract every benchmark server implements, and the pieces they share so that only the SSE library differs:
 * - `GET /sse`: an SSE stream (status 200 and the head sent at once, so the client knows it is connected);
 * - `POST /broadcast?n=&size=`: broadcasts `n` events of about `size` bytes of data, in one synchronous loop (the
 *   way an app reacts to one upstream message), and answers `{ first, n, loopMs }` once the loop returned;
 * - `GET /stats[?gc=1]`: `{ cpuUs, rss, heapUsed, connections }` (after a full GC when asked, for RSS per connection).
 *
 * Event data is `<seq> <sentAtUs> xxx…`: a process-wide sequence number (from 0 in a fresh process) and the wall
 * clock in microseconds when the event was handed to the library, so the load client checks order and loss and
 * measures publish-to-receive latency. The data never holds a newline, so every library frames it as one line.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Largest `n` a broadcast accepts: the load is bounded. */
export const MAX_EVENTS = 10_000;
/** Largest payload size accepted, in bytes. */
export const MAX_SIZE = 64 * 1024;
/** Smallest payload size: room for the sequence number and the timestamp. */
export const MIN_SIZE = 40;

/** Wall clock in microseconds, comparable between processes on one machine (sub-millisecond resolution). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Heartbeat interval the runner asked for (ms), or `undefined` for the library's default. */
export function heartbeatFromEnv(): number | undefined {
  const raw = process.env.BENCH_HEARTBEAT_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isSafeInteger(ms) || ms < 10)
    throw new Error(`BENCH_HEARTBEAT_MS must be a whole number >= 10, got ${raw}`);
  return ms;
}

export interface BroadcastRequest {
  n: number;
  size: number;
}

/** Reads `n` and `size` from a `/broadcast` URL; throws with a message for a bad request. */
export function parseBroadcast(url: string | undefined): BroadcastRequest {
  const query = new URLSearchParams((url ?? '').split('?')[1] ?? '');
  const n = Number(query.get('n') ?? '100');
  const size = Number(query.get('size') ?? '64');
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_EVENTS) throw new Error(`n must be 1..${MAX_EVENTS}`);
  if (!Number.isSafeInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new Error(`size must be ${MIN_SIZE}..${MAX_SIZE}`);
  }
  return { n, size };
}

let sequence = 0;
const paddings = new Map<number, string>();

function padding(length: number): string {
  let pad = paddings.get(length);
  if (pad === undefined) {
    pad = 'x'.repeat(Math.max(0, length));
    paddings.set(length, pad);
  }
  return pad;
}

export interface BroadcastResult {
  first: number;
  n: number;
  /** How long the synchronous publish loop held the event loop, ms. */
  loopMs: number;
}

/**
 * Runs one broadcast: builds each event's data (the same work for every server) and hands it to `publish`, in one
 * synchronous loop. Returns the first sequence number and the count.
 */
export function broadcast({ n, size }: BroadcastRequest, publish: (data: string) => void): BroadcastResult {
  const first = sequence;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const head = `${sequence++} ${nowUs()} `;
    publish(head + padding(size - head.length));
  }
  return { first, n, loopMs: performance.now() - started };
}

export interface ServerStats {
  /** CPU time of the process since it started (user + system), in microseconds. */
  cpuUs: number;
  rss: number;
  heapUsed: number;
  connections: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** The `/stats` answer; `?gc=1` runs a full GC first (servers run with `--expose-gc`). */
export function stats(url: string | undefined, connections: number): ServerStats {
  if (gc !== undefined && (url ?? '').includes('gc=1')) gc();
  const cpu = process.cpuUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    rss: process.memoryUsage.rss(),
    heapUsed: process.memoryUsage().heapUsed,
    connections,
  };
}

/** Tells the runner (over IPC) which port the server listens on. */
export function announce(server: Server): void {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', port });
}

/** Listens on 127.0.0.1, a free port, and announces it. */
export function listen(server: Server): void {
  server.listen(0, '127.0.0.1', () => announce(server));
}

// A server left behind by a runner that died would hold its connections forever: leave with the runner.
process.on('disconnect', () => process.exit(0));
// A normal exit on SIGTERM, so that `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
