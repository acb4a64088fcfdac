/**
 * The HTTP contract every benchmark server implements, and the pieces they share so that only the SSE library differs:
 * - `GET /sse`: an SSE stream (status 200 and the head sent at once, so the client knows it is connected);
 * - `POST /broadcast?n=&size=&mode=&rate=`: publishes `n` events of about `size` bytes of data through the server's
 *   `publish(data)`, in one of three {@link Mode}s (see {@link broadcast}), and answers {@link BroadcastResult} once
 *   the last event was handed to the library;
 * - `GET /stats[?gc=1][&eld=start|end]`: {@link ServerStats} (after a full GC when asked, for memory per connection;
 *   `eld=start` starts the server's own event-loop delay monitor, `eld=end` reads its maximum and stops it).
 *
 * Event data is `<seq> <sentAtUs> xxx…`: a process-wide sequence number (from 0 in a fresh process) and the wall
 * clock in microseconds when the event was handed to the library, so the load client checks order and loss and
 * measures publish-to-receive latency. The data never holds a newline, so every library frames it as one line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** Largest `n` a broadcast accepts: the load is bounded (a fixed-rate round of 100 s at 10,000 events/s). */
export const MAX_EVENTS = 1_000_000;
/** Largest payload size accepted, in bytes. */
export const MAX_SIZE = 64 * 1024;
/** Smallest payload size: room for the sequence number and the timestamp. */
export const MIN_SIZE = 40;
/** Highest fixed rate, events per second. */
export const MAX_RATE = 100_000;
/** Most of a `rate` round's schedule one wake-up catches up on, ms. */
export const CATCH_UP_MS = 50;

/**
 * How a round's events are published:
 * - `burst`: all `n` in one synchronous loop (the way an app reacts to one upstream message): the best case for
 *   batching, since everything published in one event-loop turn can go out in one write;
 * - `tick`: one event per event-loop turn (a `setImmediate` chain): nothing published can be coalesced with another;
 * - `rate`: `rate` events per second on a timer, for `n / rate` seconds; each wake-up publishes the events due by then
 *   (one per wake-up while the server keeps up, more when it falls behind: at most {@link CATCH_UP_MS} worth, so that
 *   a server far behind gets bounded bursts). The round ends on schedule: a server that could not keep up published
 *   fewer than `n` events (`BroadcastResult.n`), and how far behind it ran is `lagMs`.
 */
export type Mode = 'burst' | 'tick' | 'rate';
export const MODES: readonly Mode[] = ['burst', 'tick', 'rate'];

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
  mode: Mode;
  /** Events per second, for `mode=rate`. */
  rate: number;
}

/** Reads a `/broadcast` URL; throws with a message for a bad request. */
export function parseBroadcast(url: string | undefined): BroadcastRequest {
  const query = new URLSearchParams((url ?? '').split('?')[1] ?? '');
  const n = Number(query.get('n') ?? '100');
  const size = Number(query.get('size') ?? '64');
  const mode = (query.get('mode') ?? 'burst') as Mode;
  const rate = Number(query.get('rate') ?? '1000');
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_EVENTS) throw new Error(`n must be 1..${MAX_EVENTS}`);
  if (!Number.isSafeInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new Error(`size must be ${MIN_SIZE}..${MAX_SIZE}`);
  }
  if (!MODES.includes(mode)) throw new Error(`mode must be one of ${MODES.join(', ')}`);
  if (!Number.isSafeInteger(rate) || rate < 1 || rate > MAX_RATE) throw new Error(`rate must be 1..${MAX_RATE}`);
  return { n, size, mode, rate };
}

let sequence = 0;
let publishing = false;
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
  /** Events published: the `n` asked for, or fewer in a `rate` round the server could not keep up with. */
  n: number;
  /** The `n` asked for. */
  requested: number;
  mode: Mode;
  /** The longest synchronous stretch of publishing (a burst's whole loop; one wake-up otherwise), ms. */
  loopMs: number;
  /** First publish to last publish, ms. */
  spanMs: number;
  /** `rate` only: how late the latest event was published against its schedule, ms (0 in the other modes). */
  lagMs: number;
}

/** One event: builds its data (the same work for every server) and hands it to `publish`. */
function publishOne(size: number, publish: (data: string) => void): void {
  const head = `${sequence++} ${nowUs()} `;
  publish(head + padding(size - head.length));
}

/**
 * Runs one round of {@link BroadcastRequest.n} events through `publish`, in the requested {@link Mode}; resolves
 * once the last event was handed over. One round at a time: the sequence numbers are the process's.
 */
export function broadcast(request: BroadcastRequest, publish: (data: string) => void): Promise<BroadcastResult> {
  if (publishing) return Promise.reject(new Error('a broadcast is already running'));
  publishing = true;
  const { n, size, mode, rate } = request;
  const first = sequence;
  const started = performance.now();
  let loopMs = 0;
  let lagMs = 0;
  const result = (published: number): BroadcastResult => {
    publishing = false;
    return { first, n: published, requested: n, mode, loopMs, spanMs: performance.now() - started, lagMs };
  };
  if (mode === 'burst') {
    for (let i = 0; i < n; i++) publishOne(size, publish);
    loopMs = performance.now() - started;
    return Promise.resolve(result(n));
  }
  const scheduleMs = (n * 1000) / rate;
  const catchUp = Math.max(1, Math.ceil((rate * CATCH_UP_MS) / 1000));
  return new Promise((resolve, reject) => {
    let sent = 0;
    const step = (): void => {
      try {
        const turn = performance.now();
        if (mode === 'tick') {
          publishOne(size, publish);
          sent++;
        } else {
          // Every event due by now, in order: the schedule is `started + i / rate`.
          const scheduled = Math.min(n, Math.floor(((turn - started) * rate) / 1000) + 1);
          // How late the oldest event still waiting is: the time it was due until now.
          if (scheduled > sent) lagMs = Math.max(lagMs, turn - started - (sent * 1000) / rate);
          const due = Math.min(scheduled, sent + catchUp);
          for (; sent < due; sent++) publishOne(size, publish);
        }
        loopMs = Math.max(loopMs, performance.now() - turn);
        if (sent === n || (mode === 'rate' && performance.now() - started >= scheduleMs)) {
          resolve(result(sent));
          return;
        }
        if (mode === 'tick') setImmediate(step);
        else setTimeout(step, Math.max(0, started + (sent * 1000) / rate - performance.now()));
      } catch (error) {
        publishing = false;
        reject(error);
      }
    };
    step();
  });
}

export interface ServerStats {
  /** CPU time of the process since it started (user + system), in microseconds. */
  cpuUs: number;
  rss: number;
  heapUsed: number;
  connections: number;
  /**
   * With `eld=end`: the longest event-loop delay the server measured in itself since `eld=start`, ms (what every
   * other request and timer of the process waited at worst). `null` otherwise.
   */
  eldMaxMs: number | null;
}

const gc = (globalThis as { gc?: () => void }).gc;
// Sampled every millisecond, and only between `eld=start` and `eld=end`: idle servers (the heartbeat test) pay nothing.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

/** The `/stats` answer; `?gc=1` runs a full GC first (servers run with `--expose-gc`). */
export function stats(url: string | undefined, connections: number): ServerStats {
  const query = new URLSearchParams((url ?? '').split('?')[1] ?? '');
  if (gc !== undefined && query.get('gc') === '1') gc();
  let eldMaxMs: number | null = null;
  const eld = query.get('eld');
  if (eld === 'start') {
    loopDelay.disable();
    loopDelay.reset();
    loopDelay.enable();
  } else if (eld === 'end') {
    loopDelay.disable();
    eldMaxMs = loopDelay.count === 0 ? 0 : loopDelay.max / 1e6;
  }
  const cpu = process.cpuUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    rss: process.memoryUsage.rss(),
    heapUsed: process.memoryUsage().heapUsed,
    connections,
    eldMaxMs,
  };
}

/** Sends a request handler's outcome as JSON on a plain node:http response (400 with the message on failure). */
export function answer(res: ServerResponse, outcome: Promise<unknown> | unknown): void {
  Promise.resolve(outcome).then(
    (body) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body)),
    (error: Error) => res.writeHead(400, { 'Content-Type': 'text/plain' }).end(error.message),
  );
}

/** Tells the runner (over IPC) which port the server listens on. */
export function announce(server: Server): void {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', port });
}

/** What a server on plain `node:http` plugs into {@link serveContract}: the rest of the contract is the same for all. */
export interface ContractHandlers {
  /** Opens an SSE stream on `GET /sse`. */
  open(req: IncomingMessage, res: ServerResponse): void;
  /** Hands one event's data to the library (called by {@link broadcast}). */
  publish(data: string): void;
  /** Open SSE connections, for `GET /stats`. */
  connections(): number;
}

/** A `node:http` server that answers the contract's three routes through `handlers`, listening and announced. */
export function serveContract(handlers: ContractHandlers): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/sse') handlers.open(req, res);
    else if (req.method === 'POST' && path === '/broadcast') {
      answer(res, broadcast(parseBroadcast(req.url), handlers.publish));
    } else if (req.method === 'GET' && path === '/stats') answer(res, stats(req.url, handlers.connections()));
    else res.writeHead(404).end();
  });
  listen(server);
  return server;
}

/** Sends the SSE head of the raw servers at once and keeps `res` in `clients` until it closes. */
export function openRawStream(res: ServerResponse, clients: Set<ServerResponse>): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
  clients.add(res);
  res.on('close', () => clients.delete(res));
}

/** Listens on 127.0.0.1, a free port, and announces it. */
export function listen(server: Server): void {
  server.listen(0, '127.0.0.1', () => announce(server));
}

// A server left behind by a runner that died would hold its connections forever: leave with the runner.
process.on('disconnect', () => process.exit(0));
// A normal exit on SIGTERM, so that `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
