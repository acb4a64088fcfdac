import {
  createHub,
  createMemoryBroker,
  createStream,
  DEFAULT_CLOSE_RETRY,
  type HubOptions,
  SseError,
  SseRangeError,
  type SseStream,
  SseTypeError,
} from '@ssekit/core';
import type { Broker, OutgoingEnvelope } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { checkSseError, expectSseError } from '../../../test/support/errors.js';
import { client, hub, quiet, start, teardown, useHub, useServer } from '../../../test/support/hub-harness.js';
import { serveStreams } from '../../../test/support/stream-server.js';
import { waitFor } from '../../../test/support/wait.js';

describe('close()', () => {
  it('gives every stream a retry hint within retry…retry+jitter and ends it with reason shutdown', async () => {
    await start();
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => client(`?client=c${i}`)));
    const reasons: string[] = [];
    hub!.on('disconnect', (_stream, reason) => reasons.push(reason));
    await hub!.close({ retry: 2000, jitter: 500 });
    for (const raw of all) {
      await raw.waitForEnd();
      expect(raw.retries).toHaveLength(1);
      expect(raw.retries[0]).toBeGreaterThanOrEqual(2000);
      expect(raw.retries[0]).toBeLessThanOrEqual(2500);
    }
    expect(reasons).toEqual(Array(6).fill('shutdown'));
    expect(hub!.stats().closed.shutdown).toBe(6);
    expect(hub!.size).toBe(0);
    expect(hub!.closed).toBe(true);
  });

  it('without options sends the default retry hint', async () => {
    await start();
    const raw = await client();
    await hub!.close();
    await raw.waitForEnd();
    expect(raw.text).toBe(`retry: ${DEFAULT_CLOSE_RETRY}\n\n`);
  });

  it("with a jitter and no retry, spreads each stream's own retry hint, not a fixed one", async () => {
    await start({}, { retry: 3000 });
    const raw = await client();
    await hub!.close({ jitter: 200 });
    await raw.waitForEnd();
    // The first hint is the one the stream sends at connect; the second is the last one, at shutdown.
    expect(raw.retries).toHaveLength(2);
    expect(raw.retries[1]).toBeGreaterThanOrEqual(3000);
    expect(raw.retries[1]).toBeLessThanOrEqual(3200);
  });

  it('with a jitter and no retry, a stream without a retry of its own starts from the default hint', async () => {
    await start();
    const raw = await client();
    await hub!.close({ jitter: 200 });
    await raw.waitForEnd();
    expect(raw.retries).toHaveLength(1);
    expect(raw.retries[0]).toBeGreaterThanOrEqual(DEFAULT_CLOSE_RETRY);
    expect(raw.retries[0]).toBeLessThanOrEqual(DEFAULT_CLOSE_RETRY + 200);
  });

  it('is idempotent, and a closed hub refuses events with SSE_HUB_CLOSED', async () => {
    await start();
    const first = hub!.close();
    expect(hub!.close()).toBe(first);
    await first;
    expectSseError(() => hub!.broadcast('late'), {
      base: Error,
      type: SseError,
      code: 'SSE_HUB_CLOSED',
      message: 'This hub is closed: it no longer accepts events. Create a new hub.',
    });
  });

  it('ends a stream attached after close with reason shutdown', async () => {
    const hub = useHub(createHub({ logger: quiet }));
    await hub.close();
    const server = useServer(
      await serveStreams((req, res) => {
        const stream = createStream(req, res, { heartbeat: false });
        void hub!.attach(stream);
        return stream;
      }),
    );
    const raw = await rawSse(server.url);
    await raw.waitForEnd();
    expect(server.streams[0]!.closeReason).toBe('shutdown');
  });
});

describe('serialization', () => {
  it('serializes once per call, whatever the number of connections, and every connection gets the same bytes', async () => {
    let calls = 0;
    await start({
      serializer: (value) => {
        calls++;
        return JSON.stringify(value);
      },
    });
    const all = await Promise.all(Array.from({ length: 10 }, () => client('?client=x&topics=t')));
    await hub!.broadcast({ n: 1 });
    await hub!.publish('t', { n: 2 });
    await hub!.send('x', { n: 3 });
    expect(calls).toBe(3);
    for (const raw of all) await raw.waitForEvents(3);
    expect(new Set(all.map((raw) => raw.text)).size).toBe(1);
  });

  it('does not call the serializer for strings', async () => {
    let calls = 0;
    await start({
      serializer: (value) => {
        calls++;
        return JSON.stringify(value);
      },
    });
    await client();
    await hub!.broadcast('text');
    expect(calls).toBe(0);
  });
});

describe('events the broker refuses', () => {
  /** A broker that refuses every event, like the Redis broker while Redis is unreachable. */
  function refusingBroker(): Broker {
    return {
      start() {},
      publish: () => Promise.reject(new SseError('SSE_BROKER_UNAVAILABLE', 'Redis is unreachable.')),
      replay: () => ({ ok: true, events: [] }),
      close() {},
    };
  }

  it('rejects the promise of a caller who awaits it', async () => {
    const hub = useHub(createHub({ broker: refusingBroker(), logger: quiet }));
    await expect(hub.broadcast('x')).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
  });

  it('never surfaces as an unhandled rejection when nobody awaits, and is counted and logged once', async () => {
    const hub = useHub(createHub({ broker: refusingBroker(), logger: quiet }));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void hub.broadcast('a');
      void hub.send('alice', 'b');
      void hub.publish('news', 'c');
      await waitFor(() => hub!.stats().failed === 3, 'three failures to be counted');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(hub.stats().published).toBe(0);
    expect(quiet.errors).toHaveLength(1);
    expect(String(quiet.errors[0]?.[0])).toMatch(/could not be published/);
  });

  it('each log line counts every failure since the previous line, and close() reports the last ones', async () => {
    const hub = useHub(createHub({ broker: refusingBroker(), logger: quiet }));
    await Promise.all(Array.from({ length: 5 }, () => hub.broadcast('x').catch(() => undefined)));
    await waitFor(() => hub.stats().failed === 5, 'five failures to be counted');
    // The first failure is reported at once; the next four fall within the quiet interval.
    expect(quiet.errorMessages).toHaveLength(1);
    await hub.close();
    const counts = quiet.errorMessages.map((line) => Number(/(\d+) event\(s\) could not be published/.exec(line)?.[1]));
    expect(counts).toEqual([1, 4]);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(hub.stats().failed);
  });

  it('counts accepted events as published, refused ones as failed', async () => {
    const hub = useHub(createHub({ logger: quiet }));
    await hub.broadcast('ok');
    expect(hub.stats()).toMatchObject({ published: 1, failed: 0 });
  });
});

describe('idempotency keys', () => {
  /** A broker that records what the hub hands it, and stores nothing. */
  function recordingBroker(published: OutgoingEnvelope[], assignsIds = false): Broker {
    let n = 0;
    return {
      assignsIds,
      start() {},
      publish: (envelope) => {
        published.push(envelope);
        return `id-${++n}`;
      },
      replay: () => ({ ok: true, events: [] }),
      close() {},
    };
  }

  it('send, publish and broadcast hand the key to the broker on the envelope', async () => {
    const published: OutgoingEnvelope[] = [];
    const hub = useHub(createHub({ broker: recordingBroker(published), logger: quiet }));
    await hub.send('alice', 'a', { idempotencyKey: 'k1' });
    await hub.publish('orders', 'b', { idempotencyKey: 'k2' });
    await hub.broadcast('c', { idempotencyKey: 'k3', event: 'note' });
    await hub.broadcast('d');
    expect(published.map((envelope) => envelope.idempotencyKey)).toEqual(['k1', 'k2', 'k3', undefined]);
  });

  it('the in-memory broker ignores the key: a publish repeated with it is a second event', async () => {
    await start();
    const raw = await client('?topics=orders');
    const first = await hub!.publish('orders', 'paid', { idempotencyKey: 'order-42' });
    const second = await hub!.publish('orders', 'paid', { idempotencyKey: 'order-42' });
    await raw.waitForEvents(2);
    expect(second).not.toBe(first);
    expect(raw.events.map((event) => event.id)).toEqual([first, second]);
  });
});

describe('a broker that assigns ids itself', () => {
  it('a caller-given id throws SSE_INVALID_FIELD at once: nothing is published, counted or logged', async () => {
    const published: OutgoingEnvelope[] = [];
    const hub = useHub(
      createHub({
        broker: {
          assignsIds: true,
          start() {},
          publish: (envelope) => {
            published.push(envelope);
            return 'assigned';
          },
          replay: () => ({ ok: true, events: [] }),
          close() {},
        },
        logger: quiet,
      }),
    );
    for (const call of [
      () => hub.send('alice', 'x', { id: 'mine' }),
      () => hub.publish('news', 'x', { id: 'mine' }),
      () => hub.broadcast('x', { id: 7 }),
    ]) {
      expectSseError(call, {
        base: TypeError,
        type: SseTypeError,
        code: 'SSE_INVALID_FIELD',
        message: /assigns event ids itself.*Put your own id in the data/,
      });
    }
    expect(await hub.broadcast('x')).toBe('assigned');
    expect(published).toHaveLength(1);
    expect(hub.stats()).toMatchObject({ published: 1, failed: 0 });
    expect(quiet.errors).toEqual([]);
  });
});

describe('rejections', () => {
  const OPTION = { code: 'SSE_INVALID_OPTION' } as const;

  it.each([
    [{ nope: 1 }, Error, SseError, /^Unknown option `nope` for createHub\(\)\./],
    [
      { broker: createMemoryBroker(), history: { size: 1 } },
      Error,
      SseError,
      'Options `broker` and `history` cannot be combined: configure history on the broker you pass.',
    ],
    [
      { broker: { start() {} } },
      TypeError,
      SseTypeError,
      'Option `broker` must implement Broker: `publish()` is missing.',
    ],
    [
      { broker: { start() {}, publish() {}, replay() {}, close() {}, control: 'yes' } },
      TypeError,
      SseTypeError,
      'Option `broker`: `control`, when present, must be a method.',
    ],
    [
      { maxConnections: 0 },
      RangeError,
      SseRangeError,
      'Option `maxConnections` must be a positive whole number, got 0.',
    ],
    [
      { maxConnectionsPerClient: 1.5 },
      RangeError,
      SseRangeError,
      'Option `maxConnectionsPerClient` must be a positive whole number, got 1.5.',
    ],
    [
      { maxConnections: '5' },
      TypeError,
      SseTypeError,
      'Option `maxConnections` must be a positive whole number, got "5".',
    ],
    [{ limitResponse: { type: 'nope' } }, TypeError, SseTypeError, /^Option `limitResponse` must be/],
    [
      { limitResponse: { type: 'status', status: 200 } },
      TypeError,
      SseTypeError,
      'limitResponse.status must be a 4xx or 5xx code, got 200.',
    ],
    [{ serializer: 'json' }, TypeError, SseTypeError, 'Option `serializer` must be a function, got "json".'],
    [{ history: { size: 0 } }, RangeError, SseRangeError, 'History `size` must be a positive whole number, got 0.'],
    [
      { history: { maxAge: -1 } },
      RangeError,
      SseRangeError,
      'History `maxAge` must be a positive whole number of milliseconds, got -1.',
    ],
  ])('createHub(%o) is rejected', (options, base, type, message) => {
    expectSseError(() => createHub(options as HubOptions), {
      ...OPTION,
      base: base as ErrorConstructor,
      type,
      message,
    });
  });

  it('rejects a reset event name with a newline', () => {
    expectSseError(() => createHub({ resetEvent: 'a\nb' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /^Field `event` must not contain CR or LF/,
    });
  });

  it('rejects a malformed client id or topic synchronously, flagged as a 400', async () => {
    await start();
    expectSseError(() => hub!.send('', 'x'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id must not be empty.',
      statusCode: 400,
    });
    expectSseError(() => hub!.send('a\nb', 'x'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id "a\\nb" contains a control character; remove it.',
    });
    expectSseError(() => hub!.publish('t'.repeat(257), 'x'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_TOPIC',
      message: 'The topic is 257 characters long; at most 256 are allowed. Use a shorter id (e.g. a hash).',
    });
    expectSseError(() => hub!.disconnect(5 as never), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id must be a string, got 5.',
    });
  });

  it('rejects bad data and bad options synchronously, and publishes nothing', async () => {
    await start();
    // @ts-expect-error undefined data is a type error; this checks the run-time guard too
    expectSseError(() => hub!.broadcast(undefined), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_DATA',
      message: /^Cannot send `undefined` as data/,
    });
    expectSseError(() => hub!.broadcast({ n: 1n }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_SERIALIZE_FAILED',
      message: /BigInt/,
    });
    expectSseError(() => hub!.broadcast('x', { id: 'a\0' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /^Field `id` must not contain NUL/,
    });
    // @ts-expect-error a negative retry is a type error; this checks the run-time guard too
    expectSseError(() => hub!.broadcast('x', { retry: -1 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry` must be a non-negative/,
    });
    expectSseError(() => hub!.broadcast('x', { topic: 't' } as never), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: 'Unknown field `topic` in send options. Allowed: event, id, retry, idempotencyKey.',
    });
    expect(hub!.stats().published).toBe(0);
  });

  it('rejects a malformed idempotencyKey synchronously, and publishes nothing', async () => {
    await start();
    for (const idempotencyKey of ['', 'k'.repeat(257), 'lone\uD800', 42 as unknown as string]) {
      expectSseError(() => hub!.publish('orders', 'x', { idempotencyKey }), {
        base: TypeError,
        type: SseTypeError,
        code: 'SSE_INVALID_FIELD',
        message: /^Field `idempotencyKey` must be a non-empty string of at most 256 characters/,
      });
    }
    expect(hub!.stats().published).toBe(0);
  });

  it('rejects close() and disconnect() with a bad retry', async () => {
    await start();
    // @ts-expect-error a negative retry is a type error; this checks the run-time guard too
    expectSseError(() => hub!.close({ retry: -1 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry`/,
    });
    expectSseError(() => hub!.disconnect('a', { retry: 0.5 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: /^Field `retry`/,
    });
    expect(hub!.closed).toBe(false);
  });

  it('refuses to attach a stream twice, and topics given as a single string', async () => {
    const hub = useHub(createHub({ logger: quiet }));
    let attachError: unknown;
    let stringError: unknown;
    const server = useServer(
      await serveStreams(async (req, res) => {
        const stream = createStream(req, res, { heartbeat: false });
        if (req.url === '/twice') {
          await hub!.attach(stream);
          attachError = await hub!.attach(stream).catch((error: unknown) => error);
        } else {
          stringError = await hub!.attach(stream, 'news' as never).catch((error: unknown) => error);
        }
        return stream as SseStream;
      }),
    );
    teardown.track(await rawSse(`${server.url}/twice`));
    teardown.track(await rawSse(`${server.url}/string`));
    await waitFor(() => attachError !== undefined && stringError !== undefined);
    checkSseError(attachError, {
      base: Error,
      type: SseError,
      code: 'SSE_ALREADY_ATTACHED',
      message: 'This stream is already registered with a hub.',
    });
    checkSseError(stringError, {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_TOPIC',
      message: 'Topics must be an array of strings, got "news".',
    });
    expect(hub.topics()).toEqual([]);
  });
});
