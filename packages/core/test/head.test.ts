import { createStream, DEFAULT_CLOSE_RETRY, SseError, type SseStream, SseTypeError } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { openEventSource, rawSse } from '../../../test/support/clients.js';
import { expectSseError } from '../../../test/support/errors.js';
import { http2Get, serveHttp2 } from '../../../test/support/http2.js';
import { open, server, teardown, useH2, useServer } from '../../../test/support/stream-harness.js';
import { closed, serveStreams } from '../../../test/support/stream-server.js';
import { waitFor } from '../../../test/support/wait.js';

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
    const server = useServer(
      await serveStreams((req, res) => {
        res.writeHead(200).flushHeaders();
        try {
          createStream(req, res);
        } catch (caught) {
          error = caught;
        }
        res.end();
        return undefined;
      }),
    );
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

describe('HTTP/2', () => {
  it('sends the SSE headers without Connection (forbidden in HTTP/2), and events flow', async () => {
    const streams: SseStream[] = [];
    const h2 = useH2(
      await serveHttp2((req, res) => {
        const stream = createStream(req, res, { heartbeat: false });
        streams.push(stream);
        stream.send('over h2', { event: 'x', id: '1' });
      }),
    );
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
    const h2 = useH2(
      await serveHttp2((req, res) => {
        createStream(req, res, { heartbeat: false, headers: { Connection: 'keep-alive', 'X-App': '1' } });
      }),
    );
    const response = await http2Get(h2.url);
    teardown.defer(response.close);
    expect(response.headers[':status']).toBe(200);
    expect(response.headers['x-app']).toBe('1');
    expect(response.headers.connection).toBeUndefined();
  });

  it('ends with reason client when the HTTP/2 client cancels the stream', async () => {
    const streams: SseStream[] = [];
    const h2 = useH2(
      await serveHttp2((req, res) => {
        streams.push(createStream(req, res, { heartbeat: false }));
      }),
    );
    const response = await http2Get(h2.url);
    await waitFor(() => streams.length === 1);
    response.close();
    expect(await closed(streams[0]!)).toBe('client');
  });

  it('closes the HTTP/2 stream when the server closes, after a last retry hint on timeout', async () => {
    const streams: SseStream[] = [];
    const h2 = useH2(
      await serveHttp2((req, res) => {
        streams.push(createStream(req, res, { heartbeat: false, timeout: 60 }));
      }),
    );
    const response = await http2Get(h2.url);
    teardown.defer(response.close);
    await response.waitForEnd();
    expect(response.text).toBe(`retry: ${DEFAULT_CLOSE_RETRY}\n\n`);
    expect(streams[0]!.closeReason).toBe('timeout');
  });
});
