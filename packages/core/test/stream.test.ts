import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createStream,
  DEFAULT_CLOSE_RETRY,
  MAX_LAST_EVENT_ID_LENGTH,
  type PipeResult,
  SseError,
  SseRangeError,
  type SseStream,
  SseTypeError,
} from '@ssekit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openEventSource, rawSse } from '../../../test/support/clients.js';
import { expectSseError } from '../../../test/support/errors.js';
import { http2Get, type RunningHttp2, serveHttp2 } from '../../../test/support/http2.js';
import { captureLogger } from '../../../test/support/logger.js';
import { stalledClient } from '../../../test/support/stalled.js';
import { closed, type StreamServer, serveStreams } from '../../../test/support/stream-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { sleep, waitFor } from '../../../test/support/wait.js';
import { clock } from '../src/clock.js';

const quiet = captureLogger();
let server: StreamServer | undefined;
let h2: RunningHttp2 | undefined;

afterEach(async () => {
  for (const stream of server?.streams ?? []) stream.close();
  await server?.close();
  await h2?.close();
  server = undefined;
  h2 = undefined;
  quiet.clear();
});

// Registered after the hook above, so it runs before it: clients close before the servers.
const teardown = closeAfterEach();

/** A server whose every request opens a stream with `options`; `onOpen` may send or pipe. */
async function open(
  options: Parameters<typeof createStream>[2] = {},
  onOpen?: (stream: SseStream, req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<StreamServer> {
  server = await serveStreams((req, res) => {
    const stream = createStream(req, res, { heartbeat: false, logger: quiet, ...options });
    onOpen?.(stream, req, res);
    return stream;
  });
  return server;
}

describe('response head', () => {
  it('answers 200 with the SSE headers and Connection: keep-alive on HTTP/1.1', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(raw.headers['cache-control']).toBe('no-cache, no-transform');
    expect(raw.headers['x-accel-buffering']).toBe('no');
    expect(raw.headers.connection).toBe('keep-alive');
  });

  it('lets the app add and override headers', async () => {
    const { url } = await open({ headers: { 'Cache-Control': 'private, no-cache', 'X-Extra': 'yes' } });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    expect(raw.headers['cache-control']).toBe('private, no-cache');
    expect(raw.headers['x-extra']).toBe('yes');
  });

  it('flushes the head at once, so the client opens before any event is sent', async () => {
    const { url } = await open();
    const es = openEventSource(url);
    teardown.defer(es.close);
    await es.waitForOpen();
    expect(es.events).toEqual([]);
  });

  it('sends no event of its own on connect: the first bytes are the app’s, with no BOM', async () => {
    const { url } = await open({}, (stream) => setImmediate(() => stream.send('first')));
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    await raw.waitForEvents(1);
    expect(raw.text).toBe('data: first\n\n');
  });

  it('starts with the stream’s retry hint when one is configured', async () => {
    const { url } = await open({ retry: 3000 }, (stream) => stream.send('first'));
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    await raw.waitForEvents(1);
    expect(raw.text).toBe('retry: 3000\n\ndata: first\n\n');
  });

  it('turns the socket idle timeout off, so a server timeout does not cut an idle stream', async () => {
    let socketTimeout: number | undefined;
    const { url } = await open({}, (_stream, req) => {
      socketTimeout = req.socket.timeout;
    });
    server?.server.setTimeout(50);
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    await waitFor(() => socketTimeout !== undefined);
    expect(socketTimeout).toBe(0);
  });

  it('refuses a malformed client id before writing anything', () => {
    expectSseError(() => createStream({} as never, {} as never, {}, 'a\nb'), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: 'The client id "a\\nb" contains a control character; remove it.',
      statusCode: 400,
    });
  });

  it('refuses a response whose headers were already sent', async () => {
    let error: unknown;
    server = await serveStreams((req, res) => {
      res.writeHead(200).flushHeaders();
      try {
        createStream(req, res);
      } catch (caught) {
        error = caught;
      }
      res.end();
      return undefined;
    });
    const raw = await rawSse(server.url);
    await raw.waitForEnd();
    expectSseError(
      () => {
        throw error;
      },
      {
        base: Error,
        type: SseError,
        code: 'SSE_INVALID_OPTION',
        message:
          'Cannot open an SSE stream: the response headers were already sent. Open the stream before writing anything else.',
      },
    );
  });
});

describe('a client that left before the stream opened', () => {
  it('HTTP/1.1: the stream is born closed with reason client, and leaves nothing behind', async () => {
    const before = clock.size;
    let stream: SseStream | undefined;
    server = await serveStreams(async (req, res) => {
      // An app that looks the client up asynchronously (clientId()) while the client goes away.
      await new Promise((resolve) => res.once('close', resolve));
      stream = createStream(req, res, { heartbeat: 1000 });
      return stream;
    });
    const request = http.get(server.url);
    request.on('error', () => undefined);
    await sleep(20);
    request.destroy();
    await waitFor(() => stream !== undefined, 'the late stream');
    expect(stream!.closed).toBe(true);
    expect(stream!.closeReason).toBe('client');
    expect(clock.size).toBe(before);
  });

  it('HTTP/2: the stream is born closed with reason client, and leaves nothing behind', async () => {
    const before = clock.size;
    let stream: SseStream | undefined;
    h2 = await serveHttp2((req, res) => {
      res.once('close', () => {
        stream = createStream(req, res, { heartbeat: 1000 });
      });
    });
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

describe('HTTP/2', () => {
  it('sends the SSE headers without Connection (forbidden in HTTP/2), and events flow', async () => {
    const streams: SseStream[] = [];
    h2 = await serveHttp2((req, res) => {
      const stream = createStream(req, res, { heartbeat: false });
      streams.push(stream);
      stream.send('over h2', { event: 'x', id: '1' });
    });
    const response = await http2Get(h2.url);
    teardown.defer(response.close);
    expect(response.headers[':status']).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache, no-transform');
    expect(response.headers['x-accel-buffering']).toBe('no');
    expect(response.headers.connection).toBeUndefined();
    await response.waitForText('event: x\nid: 1\ndata: over h2\n\n');
  });

  it('drops a Connection header the app passes, instead of failing the response', async () => {
    h2 = await serveHttp2((req, res) => {
      createStream(req, res, { heartbeat: false, headers: { Connection: 'keep-alive', 'X-App': '1' } });
    });
    const response = await http2Get(h2.url);
    teardown.defer(response.close);
    expect(response.headers[':status']).toBe(200);
    expect(response.headers['x-app']).toBe('1');
    expect(response.headers.connection).toBeUndefined();
  });

  it('ends with reason client when the HTTP/2 client cancels the stream', async () => {
    const streams: SseStream[] = [];
    h2 = await serveHttp2((req, res) => {
      streams.push(createStream(req, res, { heartbeat: false }));
    });
    const response = await http2Get(h2.url);
    await waitFor(() => streams.length === 1);
    response.close();
    expect(await closed(streams[0]!)).toBe('client');
  });

  it('closes the HTTP/2 stream when the server closes, after a last retry hint on timeout', async () => {
    const streams: SseStream[] = [];
    h2 = await serveHttp2((req, res) => {
      streams.push(createStream(req, res, { heartbeat: false, timeout: 60 }));
    });
    const response = await http2Get(h2.url);
    teardown.defer(response.close);
    await response.waitForEnd();
    expect(response.text).toBe(`retry: ${DEFAULT_CLOSE_RETRY}\n\n`);
    expect(streams[0]!.closeReason).toBe('timeout');
  });
});

describe('heartbeat', () => {
  it('sends ":\\n\\n" comments while the stream is idle', async () => {
    const { url } = await open({ heartbeat: 30 });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    await waitFor(() => raw.comments.length >= 2, 'two heartbeats');
    expect(raw.text.startsWith(':\n\n:\n\n')).toBe(true);
    expect(raw.events).toEqual([]);
  });

  it('is skipped when data went out within the interval', async () => {
    const { url } = await open({ heartbeat: 60_000 });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    // Data sent a while after the connection opened must count from when it was sent.
    await sleep(300);
    stream.send('data');
    await raw.waitForEvents(1);
    const sentAt = Date.now();
    stream.tick(sentAt + 60_000 - 100);
    stream.send('more');
    await raw.waitForEvents(2);
    expect(raw.comments).toEqual([]);
    stream.tick(Date.now() + 60_000);
    await waitFor(() => raw.comments.length === 1, 'a heartbeat once the interval passed without data');
    expect(raw.text).toBe('data: data\n\ndata: more\n\n:\n\n');
  });

  it('is off with heartbeat: false, and such a stream is not on the clock', async () => {
    const before = clock.size;
    const { url } = await open({ heartbeat: false });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(clock.size).toBe(before);
    stream.tick(Date.now() + 10 * 60_000);
    stream.send('only data');
    await raw.waitForEvents(1);
    expect(raw.text).toBe('data: only data\n\n');
  });

  it('uses ONE shared timer for every stream, not one per connection', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const before = clock.size;
    let timersDuringCreate = 0;
    server = await serveStreams((req, res) => {
      const calls = setIntervalSpy.mock.calls.length + setTimeoutSpy.mock.calls.length;
      const stream = createStream(req, res, { heartbeat: 1000, timeout: 60_000 });
      timersDuringCreate += setIntervalSpy.mock.calls.length + setTimeoutSpy.mock.calls.length - calls;
      return stream;
    });
    try {
      const clients = await Promise.all(Array.from({ length: 20 }, () => rawSse(server!.url)));
      for (const client of clients) teardown.defer(client.close);
      await server.stream(19);
      expect(clock.size).toBe(before + 20);
      // At most the clock's own interval, started (or shortened) once.
      expect(timersDuringCreate).toBeLessThanOrEqual(1);
      for (const stream of server.streams) stream.close();
      expect(clock.size).toBe(before);
    } finally {
      setIntervalSpy.mockRestore();
      setTimeoutSpy.mockRestore();
    }
  });

  it('never piles up behind a full buffer: no heartbeat is queued while the client is not reading', async () => {
    const { url } = await open({ heartbeat: 60_000, maxBufferedBytes: 64 * 1024 * 1024 });
    const client = await stalledClient(url);
    teardown.defer(client.close);
    const stream = await server!.stream();
    const chunk = 'x'.repeat(64 * 1024);
    // Fill the kernel buffers until Node itself holds bytes for this client.
    for (let i = 0; i < 2000 && stream.bufferedBytes === 0; i++) {
      stream.send(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stream.bufferedBytes).toBeGreaterThan(0);
    const buffered = stream.bufferedBytes;
    stream.tick(Date.now() + 10 * 60_000);
    stream.tick(Date.now() + 20 * 60_000);
    expect(stream.bufferedBytes).toBe(buffered);
    expect(stream.closed).toBe(false);
  });
});

describe('timeout', () => {
  it('ends the stream with reason timeout after a retry hint, so the client comes back', async () => {
    const { url } = await open({ timeout: 80 }, (stream) => stream.send('hello'));
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.text).toBe(`data: hello\n\nretry: ${DEFAULT_CLOSE_RETRY}\n\n`);
    expect(server!.streams[0]!.closeReason).toBe('timeout');
  });

  it('uses the stream’s own retry as the hint when it has one', async () => {
    const { url } = await open({ timeout: 80, retry: 2500 });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.text).toBe('retry: 2500\n\nretry: 2500\n\n');
  });

  it('an EventSource reconnects after a timeout', async () => {
    const { url } = await open({ timeout: 80, retry: 10 }, (stream) => stream.send('hi'));
    const es = openEventSource(url);
    teardown.defer(es.close);
    await es.waitForEvents(2);
    expect(es.opens).toBeGreaterThanOrEqual(2);
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
    stream.end('error');
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

describe('slow consumer', () => {
  it('a client that stops reading is cut at maxBufferedBytes with reason slow-consumer, memory bounded', async () => {
    const max = 256 * 1024;
    const frame = 16 * 1024;
    const { url } = await open({ maxBufferedBytes: max, heartbeat: 20 });
    const client = await stalledClient(url);
    teardown.defer(client.close);
    const stream = await server!.stream();
    const payload = 'x'.repeat(frame - 'data: \n\n'.length);
    let peak = 0;
    let sent = 0;
    for (let i = 0; i < 5000 && !stream.closed; i++) {
      if (stream.send(payload)) sent++;
      peak = Math.max(peak, stream.bufferedBytes);
      await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, stream.bufferedBytes);
    }
    expect(stream.closeReason).toBe('slow-consumer');
    expect(peak).toBeLessThanOrEqual(max + frame);
    expect(stream.bufferedBytes).toBe(0);
    expect(stream.send(payload)).toBe(false);
    expect(sent).toBeGreaterThan(max / frame);
    // The connection is torn down: once the client reads again, it finds its connection closed.
    client.socket.on('error', () => undefined);
    client.socket.resume();
    await waitFor(() => client.socket.closed, 'the client to see its connection closed');
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
      message: 'Unknown field `evnt` in send options. Allowed: event, id, retry.',
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

describe('lastEventId', () => {
  it('comes from the Last-Event-ID header', async () => {
    const { url } = await open();
    const raw = await rawSse(url, { 'last-event-id': 'abc-42' });
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.lastEventId).toBe('abc-42');
    expect(stream.lastEventIdInvalid).toBe(false);
  });

  it('falls back to the lastEventId query parameter polyfills use', async () => {
    const { url } = await open();
    const raw = await rawSse(`${url}/events?topic=a&lastEventId=q%20id-7`);
    teardown.defer(raw.close);
    expect((await server!.stream()).lastEventId).toBe('q id-7');
  });

  it('prefers the header over the query parameter', async () => {
    const { url } = await open();
    const raw = await rawSse(`${url}/?lastEventId=from-query`, { 'last-event-id': 'from-header' });
    teardown.defer(raw.close);
    expect((await server!.stream()).lastEventId).toBe('from-header');
  });

  it('is undefined when the client sent none', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.lastEventId).toBeUndefined();
    expect(stream.lastEventIdInvalid).toBe(false);
  });

  it('ignores an oversized Last-Event-ID and flags it', async () => {
    const { url } = await open();
    const raw = await rawSse(url, { 'last-event-id': 'x'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1) });
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.lastEventId).toBeUndefined();
    expect(stream.lastEventIdInvalid).toBe(true);
  });

  it('accepts one of exactly the maximum length', async () => {
    const { url } = await open();
    const id = 'y'.repeat(MAX_LAST_EVENT_ID_LENGTH);
    const raw = await rawSse(url, { 'last-event-id': id });
    teardown.defer(raw.close);
    expect((await server!.stream()).lastEventId).toBe(id);
  });

  it('ignores a Last-Event-ID with control characters and flags it', async () => {
    const { url } = await open();
    const raw = await rawSse(`${url}/?lastEventId=a%00b`);
    teardown.defer(raw.close);
    const tab = await rawSse(url, { 'last-event-id': 'a\tb' });
    teardown.defer(tab.close);
    for (const stream of [await server!.stream(0), await server!.stream(1)]) {
      expect(stream.lastEventId).toBeUndefined();
      expect(stream.lastEventIdInvalid).toBe(true);
    }
  });
});

describe('pipe', () => {
  it('sends every item of an async generator in order, then ends the stream', async () => {
    let result: Promise<PipeResult> | undefined;
    const { url } = await open({}, (stream) => {
      result = stream.pipe(
        (async function* () {
          yield 'a';
          yield { b: 2 };
          yield 'multi\nline';
        })(),
        { event: 'item' },
      );
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.text).toBe(
      'event: item\ndata: a\n\nevent: item\ndata: {"b":2}\n\nevent: item\ndata: multi\ndata: line\n\n',
    );
    expect(await result).toEqual({ reason: 'end' });
    expect(server!.streams[0]!.closeReason).toBe('server');
  });

  it('keeps the stream open after the source ends with end: false', async () => {
    let result: Promise<PipeResult> | undefined;
    const { url } = await open({}, (stream) => {
      result = stream.pipe(['x', 'y'], { end: false });
    });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    await raw.waitForEvents(2);
    expect(await result).toEqual({ reason: 'end' });
    const stream = server!.streams[0]!;
    expect(stream.closed).toBe(false);
    stream.send('after');
    await raw.waitForEvents(3);
  });

  it('sends the chunks of a Node Readable, decoding UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('😀é');
    const { url } = await open({}, (stream) => {
      void stream.pipe(Readable.from([bytes.subarray(0, 2), bytes.subarray(2, 5), bytes.subarray(5)]));
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.events.map((e) => e.data).join('')).toBe('😀é');
  });

  it('sends the objects of an object-mode Node Readable', async () => {
    const { url } = await open({}, (stream) => {
      void stream.pipe(Readable.from([{ n: 1 }, { n: 2 }]));
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.events.map((e) => e.data)).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('sends the items of a web ReadableStream', async () => {
    const { url } = await open({}, (stream) => {
      const source = new ReadableStream<string>({
        start(controller) {
          controller.enqueue('one');
          controller.enqueue('two');
          controller.close();
        },
      });
      void stream.pipe(source);
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(raw.events.map((e) => e.data)).toEqual(['one', 'two']);
  });

  it('stops when the client leaves and calls return(), so the generator’s finally runs', async () => {
    let finalized = false;
    let result: Promise<PipeResult> | undefined;
    const { url } = await open({}, (stream) => {
      result = stream.pipe(
        (async function* () {
          try {
            for (let n = 0; ; n++) {
              yield n;
              await sleep(2);
            }
          } finally {
            finalized = true;
          }
        })(),
      );
    });
    const raw = await rawSse(url);
    await raw.waitForEvents(3);
    raw.close();
    expect(await result).toEqual({ reason: 'closed', closeReason: 'client' });
    await waitFor(() => finalized, 'the generator’s finally block');
  });

  it('stops waiting on a source that has nothing to send when the client leaves', async () => {
    let release: () => void = () => undefined;
    let finalized = false;
    let yieldedAfterClose = false;
    let result: Promise<PipeResult> | undefined;
    const { url } = await open({}, (stream) => {
      result = stream.pipe(
        (async function* () {
          try {
            yield 'first';
            await new Promise<void>((resolve) => {
              release = resolve;
            });
            yieldedAfterClose = true;
            yield 'never sent';
          } finally {
            finalized = true;
          }
        })(),
      );
    });
    const raw = await rawSse(url);
    await raw.waitForEvents(1);
    raw.close();
    expect(await result).toEqual({ reason: 'closed', closeReason: 'client' });
    release();
    await waitFor(() => finalized, 'the generator’s finally block once it wakes up');
    expect(yieldedAfterClose).toBe(true);
    expect(raw.events.map((e) => e.data)).toEqual(['first']);
  });

  it('cancels a web ReadableStream when the client leaves', async () => {
    let cancelled = false;
    const { url } = await open({}, (stream) => {
      let n = 0;
      void stream.pipe(
        new ReadableStream<string>({
          async pull(controller) {
            await sleep(2);
            controller.enqueue(String(n++));
          },
          cancel() {
            cancelled = true;
          },
        }),
      );
    });
    const raw = await rawSse(url);
    await raw.waitForEvents(2);
    raw.close();
    await waitFor(() => cancelled, 'the ReadableStream to be cancelled');
  });

  it('ends with reason error when the source throws, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    teardown.defer(() => process.off('unhandledRejection', onUnhandled));
    const failure = new Error('source failed');
    let result: Promise<PipeResult> | undefined;
    const { url } = await open({}, (stream) => {
      result = stream.pipe(
        (async function* () {
          yield 'before';
          throw failure;
        })(),
      );
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    expect(await result).toEqual({ reason: 'error', error: failure });
    expect(server!.streams[0]!.closeReason).toBe('error');
    expect(raw.events.map((e) => e.data)).toEqual(['before']);
    expect(quiet.errors[0]?.[1]).toBe(failure);
    await sleep(20);
    expect(unhandled).toEqual([]);
  });

  it('ends with reason error when an item cannot be serialized', async () => {
    let result: Promise<PipeResult> | undefined;
    const { url } = await open({}, (stream) => {
      result = stream.pipe([1, 2n, 3]);
    });
    const raw = await rawSse(url);
    await raw.waitForEnd();
    const outcome = await result;
    expect(outcome?.reason).toBe('error');
    expect(raw.events.map((e) => e.data)).toEqual(['1']);
  });

  it('keeps no memory per item on a long pipe (measured in a child process with full collections)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/pipe-memory.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fixture, '200000'],
      { timeout: 30_000 },
    );
    const { growth } = JSON.parse(stdout) as { growth: number };
    // Per-item retention (a promise reaction per item) would be tens of MB here.
    expect(growth).toBeLessThan(16 * 1024 * 1024);
  });

  it('rejects something that is not a source', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    await expect(stream.pipe(42 as never)).rejects.toMatchObject({
      name: 'SseTypeError',
      code: 'SSE_INVALID_SOURCE',
      message: 'pipe() takes an async iterable, a Node Readable or a web ReadableStream, got 42.',
    });
  });

  it('waits while the client is not reading, and carries on when it reads again', async () => {
    const max = 256 * 1024;
    const total = 20_000;
    let pulled = 0;
    let result: Promise<PipeResult> | undefined;
    const item = 'z'.repeat(1024);
    const { url } = await open({ maxBufferedBytes: max }, (stream) => {
      result = stream.pipe(
        (async function* () {
          for (; pulled < total; pulled++) yield item;
        })(),
      );
    });
    const client = await stalledClient(url);
    teardown.defer(client.close);
    const stream = await server!.stream();
    // Wait until the source stops being pulled: the pipe is waiting for the client.
    let still = 0;
    let last = -1;
    await waitFor(
      () => {
        expect(stream.closed).toBe(false);
        expect(stream.bufferedBytes).toBeLessThanOrEqual(max + 2048);
        still = pulled === last ? still + 1 : 0;
        last = pulled;
        return still >= 20;
      },
      'the pipe to wait for the client',
      10_000,
    );
    expect(pulled).toBeLessThan(total);
    let received = 0;
    client.socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    client.socket.resume();
    expect(await result).toEqual({ reason: 'end' });
    expect(stream.closeReason).toBe('server');
    await waitFor(() => received >= total * (item.length + 8), 'every byte to reach the client', 10_000);
  });
});

describe('listeners and hooks on the response', () => {
  function counts(res: http.ServerResponse): Record<string, number> {
    return Object.fromEntries(['close', 'error', 'drain', 'finish'].map((name) => [name, res.listenerCount(name)]));
  }

  it('leaves no listener on the response after a close', async () => {
    let before: Record<string, number> = {};
    let response: http.ServerResponse | undefined;
    server = await serveStreams((req, res) => {
      before = counts(res);
      response = res;
      return createStream(req, res, { heartbeat: 1000 });
    });
    const raw = await rawSse(server.url);
    const stream = await server.stream();
    raw.close();
    await closed(stream);
    expect(counts(response!)).toEqual(before);
  });

  it('leaves no listener on the response after a slow consumer was cut while congested', async () => {
    let before: Record<string, number> = {};
    let response: http.ServerResponse | undefined;
    server = await serveStreams((req, res) => {
      before = counts(res);
      response = res;
      return createStream(req, res, { heartbeat: false, maxBufferedBytes: 64 * 1024 });
    });
    const client = await stalledClient(server.url);
    teardown.defer(client.close);
    const stream = await server.stream();
    const payload = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 5000 && !stream.closed; i++) {
      stream.send(payload);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stream.closeReason).toBe('slow-consumer');
    expect(counts(response!)).toEqual(before);
  });

  it('calls res.flush() after each write when the response has one (compression middleware)', async () => {
    let flushes = 0;
    const { url } = await open({}, (_stream, _req, res) => {
      Object.assign(res, { flush: () => flushes++ });
    });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    stream.send('a');
    await raw.waitForEvents(1);
    stream.send('b');
    await raw.waitForEvents(2);
    expect(flushes).toBe(2);
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
