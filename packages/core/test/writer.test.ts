import type http from 'node:http';
import { createStream } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { openEventSource, rawSse } from '../../../test/support/clients.js';
import { stalledClient } from '../../../test/support/stalled.js';
import { open, server, teardown, useServer } from '../../../test/support/stream-harness.js';
import { closed, serveStreams } from '../../../test/support/stream-server.js';
import { waitFor } from '../../../test/support/wait.js';

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

describe('an event larger than maxBufferedBytes', () => {
  const limit = 64 * 1024;
  const big = 'x'.repeat(5 * 1024 * 1024);

  it('reaches a raw client that reads, complete, and the stream stays open', async () => {
    const { url } = await open({ maxBufferedBytes: limit });
    const raw = teardown.track(await rawSse(url));
    const stream = await server!.stream();
    expect(stream.send(big)).toBe(true);
    stream.send('after');
    const events = await raw.waitForEvents(2, 10_000);
    expect(events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(stream.closed).toBe(false);
  });

  it('reaches an eventsource client, complete, and the stream stays open', async () => {
    const { url } = await open({ maxBufferedBytes: limit });
    const es = teardown.track(openEventSource(url));
    await es.waitForOpen();
    const stream = await server!.stream();
    stream.send(big);
    stream.send('after');
    const events = await es.waitForEvents(2, 10_000);
    expect(events.map((event) => event.data.length)).toEqual([big.length, 'after'.length]);
    expect(es.opens).toBe(1);
    expect(stream.closed).toBe(false);
  });

  it('a client that never reads is still cut, holding at most the limit plus that one event', async () => {
    const { url } = await open({ maxBufferedBytes: limit });
    const client = await stalledClient(url);
    teardown.defer(client.close);
    const stream = await server!.stream();
    const small = 'y'.repeat(1024);
    stream.send(big);
    let peak = stream.bufferedBytes;
    for (let i = 0; i < 5000 && !stream.closed; i++) {
      stream.send(small);
      await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, stream.bufferedBytes);
    }
    expect(stream.closeReason).toBe('slow-consumer');
    expect(peak).toBeLessThanOrEqual(limit + big.length + small.length + 64);
    expect(stream.bufferedBytes).toBe(0);
  });
});

describe('listeners and hooks on the response', () => {
  function counts(res: http.ServerResponse): Record<string, number> {
    return Object.fromEntries(['close', 'error', 'drain', 'finish'].map((name) => [name, res.listenerCount(name)]));
  }

  it('leaves no listener on the response after a close', async () => {
    let before: Record<string, number> = {};
    let response: http.ServerResponse | undefined;
    const server = useServer(
      await serveStreams((req, res) => {
        before = counts(res);
        response = res;
        return createStream(req, res, { heartbeat: 1000 });
      }),
    );
    const raw = await rawSse(server.url);
    const stream = await server.stream();
    raw.close();
    await closed(stream);
    expect(counts(response!)).toEqual(before);
  });

  it('leaves no listener on the response after a slow consumer was cut while congested', async () => {
    let before: Record<string, number> = {};
    let response: http.ServerResponse | undefined;
    const server = useServer(
      await serveStreams((req, res) => {
        before = counts(res);
        response = res;
        return createStream(req, res, { heartbeat: false, maxBufferedBytes: 64 * 1024 });
      }),
    );
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

  it('hands each flush to the socket as one write: chunk size line, events and CRLF together', async () => {
    const writes: number[] = [];
    const { url } = await open({}, (_stream, req) => {
      const socket = req.socket as unknown as {
        _write: (...args: unknown[]) => void;
        _writev: (chunks: unknown[], ...rest: unknown[]) => void;
      };
      const write = socket._write.bind(socket);
      const writev = socket._writev.bind(socket);
      socket._write = (...args) => {
        writes.push(1);
        write(...args);
      };
      socket._writev = (chunks, ...rest) => {
        writes.push(chunks.length);
        writev(chunks, ...rest);
      };
    });
    const raw = teardown.track(await rawSse(url));
    const stream = await server!.stream();
    writes.length = 0;
    for (let i = 1; i <= 5; i++) {
      stream.send(`event ${i}`);
      await raw.waitForEvents(i);
    }
    expect(writes).toHaveLength(5);
  });
});
