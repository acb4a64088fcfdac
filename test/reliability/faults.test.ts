import type http from 'node:http';
import net from 'node:net';
import { type CloseReason, createHub, type Hub, type PipeResult, type SseStream } from '@ssekit/core';
import { type ConnectOptions, openConnection, resolveConnectOptions, runRouteHandler } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { adapters, appTracker } from '../adapters/harness.js';
import { rawSse } from '../support/clients.js';
import { failOnEscapedErrors } from '../support/escaped-errors.js';
import { openLoadConnections } from '../support/load.js';
import { captureLogger } from '../support/logger.js';
import { type StreamServer, serveStreams } from '../support/stream-server.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep, waitFor } from '../support/wait.js';

// Faults a long-lived SSE server meets in production. In each, the process must not crash, nothing may escape as an
// unhandled rejection or uncaught exception, and every stream must end once, with the reason that says what happened.

// Registered before the teardown, so it checks after the test's servers have closed: their closing counts too.
failOnEscapedErrors(50);
const teardown = closeAfterEach();
const apps = appTracker(teardown);

interface CoreApp extends StreamServer {
  hub: Hub;
  /** Close reasons, in the order streams ended. */
  reasons: CloseReason[];
  logger: ReturnType<typeof captureLogger>;
}

/**
 * A `node:http` server wired the way the adapters wire a route: `openConnection`, then the app's handler run by
 * `runRouteHandler` (which turns a throw or a rejection into reason `error`).
 */
async function coreApp(
  handler: (stream: SseStream) => unknown,
  options: Omit<ConnectOptions<http.IncomingMessage>, 'hub' | 'logger'> = {},
): Promise<CoreApp> {
  const logger = captureLogger();
  const hub = createHub({ logger });
  const reasons: CloseReason[] = [];
  hub.on('disconnect', (_stream, reason) => reasons.push(reason));
  const route = resolveConnectOptions<http.IncomingMessage>({ heartbeat: false, ...options, hub, logger });
  const server = await serveStreams(async (req, res) => {
    const stream = await openConnection(hub, route, req, req, res);
    if (stream !== undefined) void runRouteHandler(route, stream, () => handler(stream));
    return stream;
  });
  teardown.defer(async () => {
    await hub.close();
    await server.close();
  });
  return Object.assign(server, { hub, reasons, logger });
}

/** A raw client that reads until it has `bytes` bytes of the response, then calls `leave` on its socket. */
function readThenLeave(url: string, bytes: number, leave: (socket: net.Socket) => void): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes) {
        leave(socket);
        resolve(received);
      }
    });
    socket.on('error', reject);
  });
}

/** An endless source of large items that records whether its `finally` ran. */
function largeSource() {
  const state = { produced: 0, finished: false };
  async function* items() {
    try {
      for (;;) {
        state.produced++;
        yield 'x'.repeat(64 * 1024);
      }
    } finally {
      state.finished = true;
    }
  }
  return { state, items };
}

describe('a client that goes away mid-write', () => {
  for (const [how, leave] of [
    ['closes its socket (FIN)', (socket: net.Socket) => socket.destroy()],
    ['resets its socket (RST)', (socket: net.Socket) => socket.resetAndDestroy()],
  ] as const) {
    it(`${how} while pipe() streams megabytes: reason client, the source is stopped, nothing is logged`, async () => {
      const source = largeSource();
      let piped: PipeResult | undefined;
      const app = await coreApp(async (stream) => {
        piped = await stream.pipe(source.items());
      });
      await readThenLeave(app.url, 512 * 1024, leave);
      await waitFor(() => piped !== undefined, 'pipe() to resolve');
      expect(piped).toEqual({ reason: 'closed', closeReason: 'client' });
      expect(source.state.finished).toBe(true);
      expect(app.reasons).toEqual(['client']);
      expect(app.hub.size).toBe(0);
      expect(app.logger.errors).toEqual([]);
    });
  }

  it('resets in the middle of a broadcast burst: the others get every event, the reset ones end with reason client', async () => {
    const app = await coreApp(() => undefined);
    const received = new Map<number, number>();
    const connections = await openLoadConnections(
      40,
      (index) => ({
        port: app.port,
        onEvent: () => received.set(index, (received.get(index) ?? 0) + 1),
      }),
      10,
    );
    await waitFor(() => app.hub.size === 40, '40 connections');
    const burst = async (from: number) => {
      for (let i = from; i < from + 100; i++) await app.hub.broadcast({ i, pad: 'y'.repeat(2048) });
    };
    await burst(0);
    // Half of the clients drop off the network while the next burst is being flushed to them.
    const flushing = burst(100);
    connections.forEach((connection, index) => {
      if (index % 2 === 1) connection.reset();
    });
    await flushing;
    await burst(200);
    const survivors = connections.filter((_c, index) => index % 2 === 0);
    await waitFor(() => survivors.every((c) => c.events === 300), 'every survivor to get all 300 events', 15_000);
    await waitFor(() => app.reasons.length === 20, '20 streams to end');
    expect(app.reasons).toEqual(Array(20).fill('client'));
    expect(app.hub.size).toBe(20);
    expect(app.logger.errors).toEqual([]);
    for (const connection of survivors) connection.close();
  });

  it('leaves while clientId() is still running (a slow auth lookup): nothing is registered, nothing is logged', async () => {
    let lookups = 0;
    let finish: (() => void) | undefined;
    const app = await coreApp(() => undefined, {
      clientId: async () => {
        lookups++;
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        return 'alice';
      },
    });
    const gone = net.connect({ host: '127.0.0.1', port: app.port }, () => {
      gone.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    await waitFor(() => lookups === 1, 'the lookup to start');
    gone.resetAndDestroy();
    await waitFor(() => gone.destroyed, 'the client to be gone');
    await sleep(20);
    finish?.();
    // openConnection() goes on once the lookup returns: it opens a stream on a response whose client is gone, which
    // ends at once with reason client, and is never registered with the hub.
    const stream = await app.stream(0);
    expect(stream.closed).toBe(true);
    expect(stream.closeReason).toBe('client');
    expect(app.hub.size).toBe(0);
    expect(app.hub.has('alice')).toBe(false);
    expect(app.reasons).toEqual([]);
    expect(app.logger.errors).toEqual([]);
  });

  it('writes to a stream whose client already left are refused quietly', async () => {
    let opened: SseStream | undefined;
    const app = await coreApp((stream) => {
      opened = stream;
    });
    const client = await rawSse(app.url);
    await waitFor(() => opened !== undefined, 'the stream to open');
    client.response.socket.resetAndDestroy();
    await waitFor(() => app.reasons.length === 1, 'the stream to end');
    expect(opened?.send('late')).toBe(false);
    expect(opened?.comment('late')).toBe(false);
    await expect(app.hub.broadcast('late')).resolves.toEqual(expect.any(String));
    expect(app.reasons).toEqual(['client']);
  });
});

describe("the app's handler fails after the stream opened", () => {
  const failures = {
    'throws synchronously': (stream: SseStream) => {
      stream.send('before');
      throw new Error('handler exploded');
    },
    'rejects later': async (stream: SseStream) => {
      stream.send('before');
      await sleep(20);
      throw new Error('handler exploded');
    },
  };

  for (const [how, handler] of Object.entries(failures)) {
    it(`core (runRouteHandler): the handler ${how}; reason error, logged, and the server keeps serving`, async () => {
      const app = await coreApp(handler);
      const client = await rawSse(app.url);
      await client.waitForEnd();
      expect(client.events.map((e) => e.data)).toEqual(['before']);
      expect(app.reasons).toEqual(['error']);
      expect(app.logger.errors[0]?.[1]).toMatchObject({ message: 'handler exploded' });
      const next = await rawSse(app.url);
      await next.waitForEnd();
      expect(next.status).toBe(200);
      expect(app.reasons).toEqual(['error', 'error']);
    });

    for (const adapter of adapters) {
      it(`${adapter.name}: the handler ${how}; reason error, logged, and the server keeps serving`, async () => {
        const logger = captureLogger();
        const app = await apps.start(adapter, {
          routes: [{ path: '/events', sse: { logger, heartbeat: false }, handler: (stream) => handler(stream) }],
        });
        const reasons: CloseReason[] = [];
        app.hub.on('disconnect', (_stream, reason) => reasons.push(reason));
        for (let i = 1; i <= 2; i++) {
          const client = await rawSse(`${app.url}/events`);
          await client.waitForEnd();
          expect(client.status).toBe(200);
          expect(client.events.map((e) => e.data)).toEqual(['before']);
          await waitFor(() => reasons.length === i, 'the stream to end');
        }
        expect(reasons).toEqual(['error', 'error']);
        expect(logger.errors.map((args) => (args[1] as Error).message)).toEqual([
          'handler exploded',
          'handler exploded',
        ]);
      });
    }
  }
});

describe('a source that fails inside pipe()', () => {
  const sources: Record<string, () => unknown> = {
    'an iterator whose first next() throws': () => ({
      [Symbol.iterator]: () => ({
        next: () => {
          throw new Error('source failed');
        },
      }),
    }),
    'an async generator that throws after three items': async function* () {
      yield 'a';
      yield 'b';
      yield 'c';
      throw new Error('source failed');
    },
    'a ReadableStream that errors after three chunks': () => {
      let n = 0;
      return new ReadableStream<string>({
        pull(controller) {
          if (n < 3) controller.enqueue(['a', 'b', 'c'][n++] as string);
          else controller.error(new Error('source failed'));
        },
      });
    },
    'an iterator whose next() rejects and whose return() throws': () => {
      let n = 0;
      return {
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            if (n < 3) return { done: false, value: ['a', 'b', 'c'][n++] };
            throw new Error('source failed');
          },
          return: () => {
            throw new Error('cleanup failed too');
          },
        }),
      };
    },
  };

  for (const [what, make] of Object.entries(sources)) {
    it(`${what}: reason error, pipe() resolves with the error, the client sees the end`, async () => {
      let piped: PipeResult | undefined;
      const app = await coreApp(async (stream) => {
        piped = await stream.pipe(make() as AsyncIterable<unknown>);
      });
      const client = await rawSse(app.url);
      await client.waitForEnd();
      await waitFor(() => piped !== undefined, 'pipe() to resolve');
      expect(piped).toMatchObject({ reason: 'error', error: { message: 'source failed' } });
      expect(['a', 'b', 'c'].slice(0, client.events.length)).toEqual(client.events.map((e) => e.data));
      expect(app.reasons).toEqual(['error']);
      expect(app.logger.errors[0]?.[1]).toMatchObject({ message: 'source failed' });
    });
  }

  it('a source that rejects after the client left does not surface as an unhandled rejection', async () => {
    let rejectLater: ((error: Error) => void) | undefined;
    let piped: PipeResult | undefined;
    const app = await coreApp(async (stream) => {
      piped = await stream.pipe({
        [Symbol.asyncIterator]: () => ({
          next: () =>
            new Promise<IteratorResult<string>>((_resolve, reject) => {
              rejectLater = reject;
            }),
        }),
      });
    });
    const client = await rawSse(app.url);
    await waitFor(() => rejectLater !== undefined, 'the source to be read');
    client.close();
    await waitFor(() => piped !== undefined, 'pipe() to resolve');
    expect(piped).toEqual({ reason: 'closed', closeReason: 'client' });
    rejectLater?.(new Error('too late'));
    // afterEach checks that nothing escaped.
    expect(app.reasons).toEqual(['client']);
  });
});

describe('listeners that throw', () => {
  it("a stream 'close' listener and hub 'connect'/'disconnect' listeners that throw are caught and logged", async () => {
    const app = await coreApp((stream) => {
      stream.on('close', () => {
        throw new Error('close listener failed');
      });
    });
    app.hub.on('connect', () => {
      throw new Error('connect listener failed');
    });
    app.hub.on('disconnect', () => {
      throw new Error('disconnect listener failed');
    });
    const client = await rawSse(app.url);
    await waitFor(() => app.hub.size === 1, 'the stream to be registered');
    client.close();
    await waitFor(() => app.reasons.length === 1, 'the stream to end');
    const messages = app.logger.errors.map((args) => (args[1] as Error).message);
    expect(messages).toEqual(
      expect.arrayContaining(['connect listener failed', 'disconnect listener failed', 'close listener failed']),
    );
    expect(app.reasons).toEqual(['client']);
    // Still serving.
    const next = await rawSse(app.url);
    expect(next.status).toBe(200);
    next.close();
  });
});
