import { connect, type SseEvent } from '@ssekit/client';
import { describe, expect, it } from 'vitest';
import { serveRecorded, sseHead } from '../../../test/support/recording-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// What a client delivers from a stream: names, data, ids, through the iterator and the callbacks.

const teardown = closeAfterEach();

/** A server that sends `body` on an SSE response and ends it with `ssekit-done`. */
async function serving(body: string) {
  return teardown.track(
    await serveRecorded((_req, res) => {
      sseHead(res);
      res.end(`${body}event: ssekit-done\ndata: {}\n\n`);
    }),
  );
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('reading events', () => {
  it('yields each event with its name, its JSON-parsed data and the last id, `message` when unnamed', async () => {
    const server = await serving(
      'data: {"n":1}\n\nevent: tick\nid: 7\ndata: {"n":2}\n\n: a comment\n\ndata: [1,\ndata: 2]\n\nid:\ndata: 3\n\n',
    );
    expect(await collect(connect(server.url))).toEqual([
      { event: 'message', data: { n: 1 }, id: '' },
      { event: 'tick', data: { n: 2 }, id: '7' },
      { event: 'message', data: [1, 2], id: '7' },
      { event: 'message', data: 3, id: '' },
    ]);
  });

  it('passes the data and the event name through a custom parse function', async () => {
    const server = await serving('data: plain text\n\nevent: other\ndata: x\n\n');
    const events = await collect(connect(server.url, { parse: (data, event) => `${event}:${data}` }));
    expect(events.map((e) => e.data)).toEqual(['message:plain text', 'other:x']);
  });

  it('gives on(name) listeners the data of their event, and onEvent every event, in order', async () => {
    const server = await serving('event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: a\ndata: 3\n\n');
    const seen: string[] = [];
    const client = connect<{ a: number; b: number }>(server.url, {
      onEvent: (event) => seen.push(`all:${event.event}`),
    });
    client.on('a', (data, event) => seen.push(`a:${data}:${event.event}`));
    const off = client.on('b', (data) => seen.push(`b:${data}`));
    off();
    await client.done;
    expect(seen).toEqual(['all:a', 'a:1:a', 'all:b', 'all:a', 'a:3:a']);
  });

  it('keeps events that arrive before anyone listens for the iterator', async () => {
    const server = await serving('data: 1\n\ndata: 2\n\n');
    const client = connect(server.url);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await collect(client)).map((e) => e.data)).toEqual([1, 2]);
  });

  it('delivers data that is not JSON as its text when no parse function is given', async () => {
    const server = await serving('data: not json\n\ndata: {"a":1}\n\n');
    const client = connect(server.url);
    expect((await collect(client)).map((e) => e.data)).toEqual(['not json', { a: 1 }]);
  });

  it('ends with SSE_CLIENT_INVALID_DATA when the parse function throws', async () => {
    const server = await serving('data: not json\n\n');
    const client = connect(server.url, {
      parse: (data) => {
        if (!data.startsWith('{')) throw new Error('not an object');
        return data;
      },
    });
    await expect(client.done).rejects.toMatchObject({ name: 'SseClientError', code: 'SSE_CLIENT_INVALID_DATA' });
  });

  it('ends with SSE_CLIENT_LISTENER_ERROR when a listener throws, and delivers nothing after', async () => {
    const server = await serving('data: 1\n\ndata: 2\n\n');
    const seen: unknown[] = [];
    const client = connect(server.url, {
      onEvent: (event: SseEvent) => {
        seen.push(event.data);
        throw new Error('boom');
      },
    });
    await expect(client.done).rejects.toMatchObject({ code: 'SSE_CLIENT_LISTENER_ERROR', cause: new Error('boom') });
    expect(seen).toEqual([1]);
  });

  it('sends Accept: text/event-stream and the headers it was given', async () => {
    const server = await serving('');
    await connect(server.url, { headers: { authorization: 'Bearer t' } }).done;
    expect(server.requests[0]?.headers).toMatchObject({ accept: 'text/event-stream', authorization: 'Bearer t' });
  });

  it('lets a second `for await` over one client fail with SSE_CLIENT_ALREADY_ITERATED', async () => {
    const server = await serving('data: 1\n\n');
    const client = connect(server.url);
    await collect(client);
    expect(() => client[Symbol.asyncIterator]()).toThrow(
      expect.objectContaining({ code: 'SSE_CLIENT_ALREADY_ITERATED' }),
    );
  });
});

describe('checking its arguments', () => {
  it.each([
    [
      'a URL that is not a string',
      () => connect(42 as unknown as string),
      /the URL must be a string or a URL, got number/,
    ],
    [
      'a body with GET',
      () => connect('http://x', { method: 'GET', body: 'x' }),
      /body cannot go with method GET or HEAD/,
    ],
    ['a stream body', () => connect('http://x', { body: new ReadableStream() as never }), /cannot be a ReadableStream/],
    ['a negative delay', () => connect('http://x', { retry: { initialDelay: -1 } }), /retry.initialDelay must be/],
    [
      'a jitter above 1',
      () => connect('http://x', { retry: { jitter: 2 } }),
      /retry.jitter must be a number from 0 to 1/,
    ],
    ['a method with a space', () => connect('http://x', { method: 'GE T' }), /options.method must be an HTTP method/],
    [
      'a non-function callback',
      () => connect('http://x', { onEvent: 1 as never }),
      /options.onEvent must be a function/,
    ],
  ])('throws SSE_CLIENT_INVALID_OPTION for %s', (_what, call, message) => {
    expect(call).toThrow(
      expect.objectContaining({ code: 'SSE_CLIENT_INVALID_OPTION', message: expect.stringMatching(message) }),
    );
  });
});
