import http from 'node:http';
import http2 from 'node:http2';
import { createStream, SseError, SseRangeError, type SseStream, SseTypeError } from '@ssekit/core';
import { endStream } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { watchClock } from '../../../test/support/clock.js';
import { expectSseError } from '../../../test/support/errors.js';
import { serveHttp2 } from '../../../test/support/http2.js';
import { open, quiet, server, teardown, useH2, useServer } from '../../../test/support/stream-harness.js';
import { closed, serveStreams } from '../../../test/support/stream-server.js';
import { sleep, waitFor } from '../../../test/support/wait.js';

describe('a client that left before the stream opened', () => {
  it('HTTP/1.1: the stream is born closed with reason client, and leaves nothing behind', async () => {
    const clock = watchClock();
    teardown.defer(clock.stop);
    const before = clock.size;
    let stream: SseStream | undefined;
    let arrived = false;
    const server = useServer(
      await serveStreams(async (req, res) => {
        arrived = true;
        // An app that looks the client up asynchronously (clientId()) while the client goes away.
        await new Promise((resolve) => res.once('close', resolve));
        stream = createStream(req, res, { heartbeat: 1000 });
        return stream;
      }),
    );
    const request = http.get(server.url);
    request.on('error', () => undefined);
    await waitFor(() => arrived, 'the request to reach the server');
    request.destroy();
    await waitFor(() => stream !== undefined, 'the late stream');
    expect(stream!.closed).toBe(true);
    expect(stream!.closeReason).toBe('client');
    expect(clock.size).toBe(before);
  });

  it('HTTP/2: the stream is born closed with reason client, and leaves nothing behind', async () => {
    const clock = watchClock();
    teardown.defer(clock.stop);
    const before = clock.size;
    let stream: SseStream | undefined;
    const h2 = useH2(
      await serveHttp2((req, res) => {
        res.once('close', () => {
          stream = createStream(req, res, { heartbeat: 1000 });
        });
      }),
    );
    const session = http2.connect(h2.url);
    teardown.defer(() => session.destroy());
    const request = session.request({ ':path': '/' });
    request.on('error', () => undefined);
    await sleep(20);
    request.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => stream !== undefined, 'the late stream');
    expect(stream!.closed).toBe(true);
    expect(stream!.closeReason).toBe('client');
    expect(clock.size).toBe(before);
  });
});

describe('close reasons', () => {
  it('client: the client went away', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    const stream = await server!.stream();
    raw.close();
    expect(await closed(stream)).toBe('client');
  });

  it('server: close() writes what is pending, then ends the response', async () => {
    const { url } = await open({}, (stream) => {
      stream.send('last words');
      stream.close();
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.text).toBe('data: last words\n\n');
    expect(server!.streams[0]!.closeReason).toBe('server');
  });

  it('server: close({ retry }) sends a last retry hint', async () => {
    const { url } = await open({}, (stream) => stream.close({ retry: 7000 }));
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.text).toBe('retry: 7000\n\n');
  });

  it('close({ retry }) rejects a bad retry', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    // @ts-expect-error a negative retry is a type error; this checks the run-time guard too
    expectSseError(() => stream.close({ retry: -5 }), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_RETRY',
      message: 'Field `retry` must be a non-negative whole number of milliseconds, got -5.',
    });
    expect(stream.closed).toBe(false);
  });

  it('the close event fires exactly once, with the first reason', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    const stream = await server!.stream();
    const reasons: string[] = [];
    stream.on('close', (reason) => reasons.push(reason));
    stream.close();
    stream.close();
    endStream(stream, 'error');
    raw.close();
    await sleep(20);
    expect(reasons).toEqual(['server']);
    expect(stream.closeReason).toBe('server');
  });

  it('a close listener that throws is reported, not thrown', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    stream.on('close', () => {
      throw new Error('listener bug');
    });
    expect(() => stream.close()).not.toThrow();
    expect(stream.closed).toBe(true);
    expect(quiet.errors).toHaveLength(1);
  });
});

describe('send on an ended stream', () => {
  it('send, write and comment return false and never throw, whatever they are given', async () => {
    const { url } = await open({}, (stream) => stream.close());
    const raw = await rawSse(url);
    await raw.waitForEnd();
    const stream = server!.streams[0]!;
    expect(stream.closed).toBe(true);
    expect(stream.send('x')).toBe(false);
    // @ts-expect-error undefined data is a type error; this checks the run-time guard too
    expect(stream.send(undefined)).toBe(false);
    expect(stream.send(1n)).toBe(false);
    expect(stream.send('x', { id: 'a\nb' })).toBe(false);
    expect(stream.write({ data: 'x' })).toBe(false);
    expect(stream.comment('x')).toBe(false);
    expect(() => stream.close()).not.toThrow();
  });

  it('send returns true while the stream is open', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.send('x')).toBe(true);
    expect(stream.write({ comment: 'c', data: 'y' })).toBe(true);
    expect(stream.comment('z')).toBe(true);
  });
});

describe('send rejections on an open stream', () => {
  it('rejects undefined data, an unknown option and a bad field, writing nothing', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    // @ts-expect-error undefined data is a type error; this checks the run-time guard too
    expectSseError(() => stream.send(undefined), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_DATA',
      message: /^Cannot send `undefined` as data/,
    });
    expectSseError(() => stream.send('x', { evnt: 'y' } as never), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: 'Unknown field `evnt` in send options. Allowed: event, id, retry, idempotencyKey.',
    });
    expectSseError(() => stream.send('x', { event: 'a\nb' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /^Field `event` must not contain CR or LF/,
    });
    expectSseError(() => stream.send({ n: 1n }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_SERIALIZE_FAILED',
      message: /BigInt/,
    });
    stream.send('ok');
    await raw.waitForEvents(1);
    expect(raw.text).toBe('data: ok\n\n');
  });

  it('subscribe() without a hub says how to get one', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expectSseError(() => stream.subscribe('news'), {
      base: Error,
      type: SseError,
      code: 'SSE_INVALID_OPTION',
      message:
        'Cannot subscribe: this stream is not registered with a hub. Use an adapter, or `hub.attach(stream)` first.',
    });
  });
});

describe('signal', () => {
  it('is aborted when the stream ends, with the close reason', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    const stream = await server!.stream();
    const signal = stream.signal;
    expect(signal.aborted).toBe(false);
    raw.close();
    await closed(stream);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('client');
  });

  it('is already aborted when first read after the end', async () => {
    const { url } = await open({}, (stream) => stream.close());
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(server!.streams[0]!.signal.aborted).toBe(true);
    expect(server!.streams[0]!.signal.reason).toBe('server');
  });
});

describe('options', () => {
  const OPTION = { code: 'SSE_INVALID_OPTION' } as const;

  it.each([
    [{ heartbeat: 0 }, 'Option `heartbeat` must be a positive whole number of milliseconds or false, got 0.'],
    [{ heartbeat: 1.5 }, 'Option `heartbeat` must be a positive whole number of milliseconds or false, got 1.5.'],
    [{ timeout: -1 }, 'Option `timeout` must be a positive whole number of milliseconds or false, got -1.'],
    [{ maxBufferedBytes: 0 }, 'Option `maxBufferedBytes` must be a positive whole number, got 0.'],
  ])('rejects %o with a RangeError', (options, message) => {
    expectSseError(() => createStream({} as never, {} as never, options as never), {
      ...OPTION,
      base: RangeError,
      type: SseRangeError,
      message,
    });
  });

  it.each([
    [{ retry: -1 }, RangeError, SseRangeError, 'SSE_INVALID_RETRY', /^Field `retry` must be a non-negative/],
    [{ heartbeet: 5 }, Error, SseError, 'SSE_INVALID_OPTION', /^Unknown option `heartbeet` for an SSE stream\./],
    [{ headers: 'x' }, TypeError, SseTypeError, 'SSE_INVALID_OPTION', 'Option `headers` must be an object, got "x".'],
    [
      { logger: {} },
      TypeError,
      SseTypeError,
      'SSE_INVALID_OPTION',
      'Option `logger` must have `error` and `warn` methods.',
    ],
    [
      { serializer: 1 },
      TypeError,
      SseTypeError,
      'SSE_INVALID_OPTION',
      'Option `serializer` must be a function, got 1.',
    ],
  ])('rejects %o', (options, base, type, code, message) => {
    expectSseError(() => createStream({} as never, {} as never, options as never), {
      base: base as ErrorConstructor,
      type,
      code,
      message,
    });
  });
});
