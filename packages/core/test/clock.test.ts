import { createStream, DEFAULT_CLOSE_RETRY } from '@ssekit/core';
import { describe, expect, it, vi } from 'vitest';
import { openEventSource, rawSse } from '../../../test/support/clients.js';
import { watchClock } from '../../../test/support/clock.js';
import { stalledClient } from '../../../test/support/stalled.js';
import { open, server, teardown, useServer } from '../../../test/support/stream-harness.js';
import { serveStreams } from '../../../test/support/stream-server.js';
import { sleep, waitFor } from '../../../test/support/wait.js';

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
    const clock = watchClock();
    teardown.defer(clock.stop);
    const { url } = await open({ heartbeat: 60_000 });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    const ticking = clock.last();
    // Data sent a while after the connection opened must count from when it was sent.
    await sleep(300);
    stream.send('data');
    await raw.waitForEvents(1);
    const sentAt = Date.now();
    ticking.tick(sentAt + 60_000 - 100);
    stream.send('more');
    await raw.waitForEvents(2);
    expect(raw.comments).toEqual([]);
    ticking.tick(Date.now() + 60_000);
    await waitFor(() => raw.comments.length === 1, 'a heartbeat once the interval passed without data');
    expect(raw.text).toBe('data: data\n\ndata: more\n\n:\n\n');
  });

  it('is off with heartbeat: false, and such a stream is not on the clock', async () => {
    const clock = watchClock();
    teardown.defer(clock.stop);
    const before = clock.size;
    const { url } = await open({ heartbeat: false });
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(clock.size).toBe(before);
    // Nothing to tick: the clock never walks this stream, however much time passes.
    expect(() => clock.last()).toThrow();
    await sleep(50);
    stream.send('only data');
    await raw.waitForEvents(1);
    expect(raw.text).toBe('data: only data\n\n');
  });

  it('uses ONE shared timer for every stream, not one per connection', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const clock = watchClock();
    teardown.defer(clock.stop);
    const before = clock.size;
    let timersDuringCreate = 0;
    const server = useServer(
      await serveStreams((req, res) => {
        const calls = setIntervalSpy.mock.calls.length + setTimeoutSpy.mock.calls.length;
        const stream = createStream(req, res, { heartbeat: 1000, timeout: 60_000 });
        timersDuringCreate += setIntervalSpy.mock.calls.length + setTimeoutSpy.mock.calls.length - calls;
        return stream;
      }),
    );
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
    const clock = watchClock();
    teardown.defer(clock.stop);
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
    clock.last().tick(Date.now() + 10 * 60_000);
    clock.last().tick(Date.now() + 20 * 60_000);
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
