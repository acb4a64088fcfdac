/**
 * What one client that stops reading costs the server: better-sse, then ssekit with its defaults, on `node:http`.
 *
 * A raw TCP client sends the request, reads the response head and then never reads again (its socket is paused, so
 * the kernel's buffers fill and TCP stops the server). The server pushes `events` events of `bytes` characters each,
 * in batches of 256 with a turn of the event loop between batches, and the script prints what the server holds for
 * that one client: the bytes queued in the response (Node's `writableLength`, plus ssekit's own pending frames) at
 * their peak and at the end, the growth of the heap (after a forced GC) and of the RSS, and how the stream ended.
 * Each library is measured in a process of its own, so that one's memory does not blur the other's figures.
 *
 * Usage (from the repository root): `pnpm --filter @ssekit/bench exec tsx
 * src/tools/better-sse-slow-client.ts [events=32768] [bytes=4096] [better-sse|ssekit]`
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createStream } from '@ssekit/core';
import { createSession } from 'better-sse';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const BATCH = 256;
const MiB = 1024 * 1024;

/** One open stream on the server side, as the measurement needs it. */
interface Target {
  push(data: string): void;
  /** Bytes the server holds for this client, not yet taken by the kernel. */
  queued(): number;
  /** How the stream ended, or `undefined` while it is open. */
  ended(): string | undefined;
}

type Open = (req: IncomingMessage, res: ServerResponse) => Promise<Target>;

const openBetterSse: Open = async (req, res) => {
  const session = await createSession(req, res);
  let end: string | undefined;
  session.once('disconnected', () => {
    end = 'disconnected';
  });
  return {
    push: (data) => {
      if (end === undefined) session.push(data);
    },
    queued: () => res.writableLength,
    ended: () => end,
  };
};

const openSsekit: Open = async (req, res) => {
  const stream = createStream(req, res);
  let end: string | undefined;
  stream.on('close', (reason) => {
    end = reason;
  });
  return {
    push: (data) => {
      if (!stream.closed) stream.send(data);
    },
    queued: () => (stream.closed ? res.writableLength : stream.bufferedBytes),
    ended: () => end,
  };
};

interface Result {
  library: string;
  peakQueued: number;
  finalQueued: number;
  heapGrowth: number;
  rssGrowth: number;
  ended: string;
}

async function measure(library: string, open: Open, events: number, bytes: number): Promise<Result> {
  let resolveTarget: (target: Target) => void = () => {};
  const opened = new Promise<Target>((resolve) => {
    resolveTarget = resolve;
  });
  const server: Server = createServer((req, res) => {
    void open(req, res).then(resolveTarget);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The server has no TCP address.');

  const client: Socket = connect(address.port, '127.0.0.1');
  client.on('error', () => {});
  client.once('data', () => client.pause()); // the response head arrived: never read again
  client.write(`GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  const target = await opened;
  await sleep(100);

  gc();
  const before = process.memoryUsage();
  const data = 'x'.repeat(bytes);
  let peakQueued = 0;
  for (let sent = 0; sent < events; ) {
    for (const end = Math.min(events, sent + BATCH); sent < end; sent++) target.push(data);
    peakQueued = Math.max(peakQueued, target.queued());
    await nextTurn();
  }
  await sleep(200);
  peakQueued = Math.max(peakQueued, target.queued());
  const finalQueued = target.queued();
  gc();
  const after = process.memoryUsage();
  const result: Result = {
    library,
    peakQueued,
    finalQueued,
    heapGrowth: after.heapUsed + after.external - (before.heapUsed + before.external),
    rssGrowth: after.rss - before.rss,
    ended: target.ended() ?? 'still open',
  };

  client.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return result;
}

function positiveInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${value}.`);
  return n;
}

const LIBRARIES = {
  'better-sse': { label: 'better-sse 0.16', open: openBetterSse },
  ssekit: { label: 'ssekit (maxBufferedBytes 1 MiB)', open: openSsekit },
} as const;

const [eventsArg, bytesArg, only] = process.argv.slice(2);
const events = positiveInteger(eventsArg, 32_768, 'events');
const bytes = positiveInteger(bytesArg, 4096, 'bytes');
const mib = (n: number): string => `${n < 0 ? '-' : '+'}${(Math.abs(n) / MiB).toFixed(1)} MiB`;
const size = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

if (only === undefined) {
  console.log(
    `Node ${process.version}; one client that stops reading; ${events} events of ${bytes} bytes (${size(events * bytes)} of data)`,
  );
  for (const library of Object.keys(LIBRARIES)) {
    // The same script in a fresh process (tsx's loader flags included), for this library alone.
    const line = execFileSync(
      process.execPath,
      [...process.execArgv, process.argv[1] ?? '', String(events), String(bytes), library],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    process.stdout.write(line);
  }
} else {
  const library = LIBRARIES[only as keyof typeof LIBRARIES];
  if (library === undefined) throw new Error(`Unknown library ${only}; one of ${Object.keys(LIBRARIES).join(', ')}.`);
  const r = await measure(library.label, library.open, events, bytes);
  console.log(
    `${r.library}: queued for the client ${size(r.peakQueued)} at peak, ${size(r.finalQueued)} at the end; ` +
      `heap ${mib(r.heapGrowth)}, RSS ${mib(r.rssGrowth)}; stream: ${r.ended}`,
  );
}
