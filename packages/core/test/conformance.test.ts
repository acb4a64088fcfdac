import { createHub, createStream, type EventData, type SendOptions, type SseMessage } from '@ssekit/core';
import type { EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventSource, type RawSse, type Received, rawSse } from '../../../test/support/clients.js';
import { type StreamServer, serveStreams } from '../../../test/support/stream-server.js';

// Each case is a script the server plays on a fresh stream; both real clients (the `eventsource` package, which
// implements the WHATWG EventSource, and `eventsource-parser`) read it over a real socket.
type Step = { send: unknown; options?: SendOptions } | { comment: string } | { write: SseMessage };

const scripts: Record<string, Step[]> = {
  lf: [{ send: 'a\nb\nc' }],
  cr: [{ send: 'a\rb\rc' }],
  crlf: [{ send: 'a\r\nb\r\nc' }],
  mixed: [{ send: 'a\r\n\r\nb\rc\nd' }],
  trailing: [{ send: 'line\n' }],
  empty: [{ send: '' }, { send: 'after' }],
  space: [{ send: ' leading' }, { send: '  two' }],
  colon: [{ send: ':not a comment' }, { send: ': still data' }],
  nul: [{ send: 'a\0b\0' }],
  unicode: [{ send: '😀 naïve café 中文 עברית Ελληνικά 🏳️‍🌈 \u2028 \ufeff end' }],
  json: [{ send: { text: 'a\nb', n: 1, list: [1, '😀'] } }],
  events: [
    { send: 'u', options: { event: 'update' } },
    { send: 'o', options: { event: 'other-name.v2' } },
    { send: 'm' },
  ],
  ids: [{ send: 'a', options: { id: '1' } }, { send: 'b' }, { send: 'c', options: { id: 'x-3' } }],
  // The stream then closes; the client reconnects (retry 20 ms) and says which cursor it kept.
  persist: [{ send: 'a', options: { id: '1' } }, { send: 'b' }],
  // A bare `id:` frame (no data) also moves the cursor in browsers, but the `eventsource` package ignores frames
  // without data, so the portable way to clear the cursor is an empty id on an event.
  clear: [
    { send: 'a', options: { id: '1' } },
    { send: 'b', options: { id: '' } },
  ],
  retry: [{ send: 'x', options: { retry: 1234 } }, { write: { retry: 4321 } }, { send: 'y' }],
  comments: [
    { comment: 'hello' },
    { send: 'a' },
    { comment: 'two\nlines' },
    { write: { comment: 'with data', data: 'b' } },
    { comment: '' },
    { send: 'c' },
  ],
};

let server: StreamServer;
// Reconnecting cases whose first connection was served: the next connection is the client coming back.
const resumed = new Set<string>();
const hub = createHub();

beforeAll(async () => {
  server = await serveStreams((req, res) => {
    const name = (req.url ?? '/').slice(1);
    const reconnects = name === 'persist' || name === 'clear';
    const stream = createStream(req, res, { heartbeat: false, ...(reconnects ? { retry: 20 } : {}) });
    if (name === 'hub') {
      void hub.attach(stream);
      return stream;
    }
    if (reconnects && resumed.has(name)) {
      stream.send(
        `reconnected ${stream.lastEventId === undefined ? 'without a cursor' : `with ${stream.lastEventId}`}`,
      );
      return stream;
    }
    for (const step of scripts[name] ?? []) {
      if ('send' in step) stream.send(step.send as EventData, step.options);
      else if ('comment' in step) stream.comment(step.comment);
      else stream.write(step.write);
    }
    if (reconnects) {
      resumed.add(name);
      stream.close();
    }
    return stream;
  });
});

afterAll(async () => {
  await hub.close();
  await server.close();
});

/** Opens the case with both clients and waits for `count` events on each. */
async function play(
  name: string,
  count: number,
  eventTypes: string[] = [],
): Promise<{ browser: Received[]; parser: EventSourceMessage[]; raw: RawSse }> {
  const es = openEventSource(`${server.url}/${name}`, { eventTypes });
  const raw = await rawSse(`${server.url}/${name}`);
  try {
    const [browser, parser] = await Promise.all([es.waitForEvents(count), raw.waitForEvents(count)]);
    return { browser: [...browser], parser: [...parser], raw };
  } finally {
    es.close();
    raw.close();
  }
}

/** Plays a case whose stream closes, and returns what the EventSource saw across its reconnect. */
async function reconnect(name: string): Promise<string[]> {
  const es = openEventSource(`${server.url}/${name}`);
  try {
    return data(await es.waitForEvents(3));
  } finally {
    es.close();
  }
}

function data(events: { data: string }[]): string[] {
  return events.map((event) => event.data);
}

describe('conformance with EventSource and eventsource-parser over a real socket', () => {
  it('multi-line data with LF arrives line for line', async () => {
    const { browser, parser } = await play('lf', 1);
    expect(data(browser)).toEqual(['a\nb\nc']);
    expect(data(parser)).toEqual(['a\nb\nc']);
  });

  it('multi-line data with CR arrives with LF line breaks', async () => {
    const { browser, parser } = await play('cr', 1);
    expect(data(browser)).toEqual(['a\nb\nc']);
    expect(data(parser)).toEqual(['a\nb\nc']);
  });

  it('multi-line data with CRLF arrives with LF line breaks', async () => {
    const { browser, parser } = await play('crlf', 1);
    expect(data(browser)).toEqual(['a\nb\nc']);
    expect(data(parser)).toEqual(['a\nb\nc']);
  });

  it('mixed line breaks and blank lines inside data survive', async () => {
    const { browser, parser } = await play('mixed', 1);
    expect(data(browser)).toEqual(['a\n\nb\nc\nd']);
    expect(data(parser)).toEqual(['a\n\nb\nc\nd']);
  });

  it('a trailing newline in data survives', async () => {
    const { browser, parser } = await play('trailing', 1);
    expect(data(browser)).toEqual(['line\n']);
    expect(data(parser)).toEqual(['line\n']);
  });

  it('empty data is dispatched as an event with empty data', async () => {
    const { browser, parser } = await play('empty', 2);
    expect(data(browser)).toEqual(['', 'after']);
    expect(data(parser)).toEqual(['', 'after']);
  });

  it('leading spaces in data are kept', async () => {
    const { browser, parser } = await play('space', 2);
    expect(data(browser)).toEqual([' leading', '  two']);
    expect(data(parser)).toEqual([' leading', '  two']);
  });

  it('data that starts with a colon is data, not a comment', async () => {
    const { browser, parser } = await play('colon', 2);
    expect(data(browser)).toEqual([':not a comment', ': still data']);
    expect(data(parser)).toEqual([':not a comment', ': still data']);
  });

  it('NUL characters in data arrive intact', async () => {
    const { browser, parser } = await play('nul', 1);
    expect(data(browser)).toEqual(['a\0b\0']);
    expect(data(parser)).toEqual(['a\0b\0']);
  });

  it('emoji and other non-ASCII text arrive intact (UTF-8)', async () => {
    const text = '😀 naïve café 中文 עברית Ελληνικά 🏳️‍🌈 \u2028 \ufeff end';
    const { browser, parser, raw } = await play('unicode', 1);
    expect(data(browser)).toEqual([text]);
    expect(data(parser)).toEqual([text]);
    expect(raw.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  });

  it('objects arrive as JSON text that parses back to the same value', async () => {
    const { browser, parser } = await play('json', 1);
    expect(JSON.parse(browser[0]!.data)).toEqual({ text: 'a\nb', n: 1, list: [1, '😀'] });
    expect(JSON.parse(parser[0]!.data)).toEqual({ text: 'a\nb', n: 1, list: [1, '😀'] });
  });

  it('custom event names reach their listeners; events without a name are "message"', async () => {
    const { browser, parser } = await play('events', 3, ['update', 'other-name.v2']);
    expect(browser.map((e) => [e.type, e.data])).toEqual([
      ['update', 'u'],
      ['other-name.v2', 'o'],
      ['message', 'm'],
    ]);
    expect(parser.map((e) => [e.event, e.data])).toEqual([
      ['update', 'u'],
      ['other-name.v2', 'o'],
      [undefined, 'm'],
    ]);
  });

  it('each event carries the id it was sent with', async () => {
    const { browser, parser } = await play('ids', 3);
    // The `eventsource` package reports `lastEventId` per event ('' when the event had none); browsers keep the
    // previous one. The cursor it reconnects with persists either way (next test).
    expect(browser.map((e) => e.lastEventId)).toEqual(['1', '', 'x-3']);
    expect(parser.map((e) => e.id)).toEqual(['1', undefined, 'x-3']);
  });

  it('the last event id persists across events without one: the client reconnects with it', async () => {
    expect(await reconnect('persist')).toEqual(['a', 'b', 'reconnected with 1']);
  });

  it('an empty id clears the cursor: the client reconnects without Last-Event-ID', async () => {
    expect(await reconnect('clear')).toEqual(['a', 'b', 'reconnected without a cursor']);
  });

  it('retry fields reach the client, with or without data, and a bare retry dispatches nothing', async () => {
    const { browser, parser, raw } = await play('retry', 2);
    expect(data(browser)).toEqual(['x', 'y']);
    expect(data(parser)).toEqual(['x', 'y']);
    expect(raw.retries).toEqual([1234, 4321]);
  });

  it('comments are ignored by clients, and the parser sees their text', async () => {
    const { browser, parser, raw } = await play('comments', 3);
    expect(data(browser)).toEqual(['a', 'b', 'c']);
    expect(data(parser)).toEqual(['a', 'b', 'c']);
    expect(raw.comments).toEqual(['hello', 'two', 'lines', 'with data', '']);
  });

  it('hub events carry ids the client keeps as its Last-Event-ID, and their data is framed the same way', async () => {
    const es = openEventSource(`${server.url}/hub`, { eventTypes: ['note'] });
    const raw = await rawSse(`${server.url}/hub`);
    try {
      await es.waitForOpen();
      await (await server.stream(server.streams.length - 1)).drained();
      const first = await hub.broadcast('a\r\nb');
      const second = await hub.broadcast({ x: 1 }, { event: 'note' });
      const browser = await es.waitForEvents(2);
      const parser = await raw.waitForEvents(2);
      expect(browser.map((e) => [e.type, e.data, e.lastEventId])).toEqual([
        ['message', 'a\nb', first],
        ['note', '{"x":1}', second],
      ]);
      expect(parser.map((e) => [e.event, e.data, e.id])).toEqual([
        [undefined, 'a\nb', first],
        ['note', '{"x":1}', second],
      ]);
    } finally {
      es.close();
      raw.close();
    }
  });
});
