import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PipeResult } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { stalledClient } from '../../../test/support/stalled.js';
import { open, quiet, server, teardown } from '../../../test/support/stream-harness.js';
import { sleep, waitFor } from '../../../test/support/wait.js';

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
