import { MAX_NAME_LENGTH } from '@ssekit/core';
import { MAX_LAST_EVENT_ID_LENGTH } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { failOnEscapedErrors } from '../support/escaped-errors.js';
import { type LoadEvent, openLoadConnection } from '../support/load.js';
import { rawExchange } from '../support/raw-http.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { type RunningTarget, targets } from './targets.js';

// What clients send and apps return is not always well-formed. Bad input must get a clear answer (a reset for a
// useless Last-Event-ID, a 400 naming the mistake for a malformed client id or topic), never a crash or a hang.

// Registered before the teardown, so it checks after the test's servers have closed: their closing counts too.
failOnEscapedErrors(20);
const teardown = closeAfterEach();

/** Opens an SSE request with raw bytes for headers, and collects the events it gets. */
async function listen(target: RunningTarget, path: string, headers: Record<string, string> = {}) {
  const events: LoadEvent[] = [];
  const connection = await openLoadConnection({ port: target.port, path, headers, onEvent: (_c, e) => events.push(e) });
  return { connection, events };
}

const malformedIds: [what: string, value: unknown, message: RegExp][] = [
  ['empty', '', /must not be empty/],
  [`longer than ${MAX_NAME_LENGTH} characters`, 'u'.repeat(MAX_NAME_LENGTH + 1), /at most 256/],
  ['with a newline', 'alice\nadmin', /control character/],
  ['with a NUL', 'alice\u0000', /control character/],
  ['a number', 42, /must be a string/],
  ['an object', { id: 'alice' }, /must be a string/],
];

const malformedTopics: [what: string, value: unknown, message: RegExp][] = [
  ['a single string instead of a list', 'news', /single string/],
  ['not iterable', 42, /array/],
  ['a list with an empty topic', ['news', ''], /must not be empty/],
  ['a list with a topic that is too long', ['t'.repeat(MAX_NAME_LENGTH + 1)], /at most 256/],
  ['a list with a control character', ['news\r\nsport'], /control character/],
  ['a list with a number', [7], /must be a string/],
];

describe.each(targets)('$name', (target) => {
  async function start(routes: Parameters<typeof target.start>[0]) {
    return teardown.track(await target.start(routes));
  }

  describe('a Last-Event-ID that cannot be resumed from is ignored, the client is told to reset, and live events flow', () => {
    const cases: [what: string, path: string, headers: Record<string, string>, reason: string][] = [
      ['10 KB long', '/events', { 'last-event-id': 'a'.repeat(10 * 1024) }, 'invalid-id'],
      [
        `one character over ${MAX_LAST_EVENT_ID_LENGTH}`,
        '/events',
        { 'last-event-id': 'b'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1) },
        'invalid-id',
      ],
      ['garbage the server never issued', '/events', { 'last-event-id': '%$#@!-not-an-id' }, 'unknown-id'],
      ['non-ASCII bytes', '/events', { 'last-event-id': '\u00ff\u00fe\u00e9' }, 'invalid-id'],
      ['control characters (query parameter of polyfills)', '/events?lastEventId=%01%02%1b', {}, 'invalid-id'],
    ];
    for (const [what, path, headers, reason] of cases) {
      it(`${what}: reset (${reason}), then live events`, async () => {
        const app = await start([{ path: '/events', sse: { heartbeat: false } }]);
        await app.hub.broadcast('before');
        const { connection, events } = await listen(app, path, headers);
        expect(connection.status).toBe(200);
        await waitFor(() => events.length === 1, 'the reset event');
        expect(events[0]?.type).toBe('ssekit-reset');
        expect(JSON.parse(events[0]?.data as string)).toMatchObject({ reason });
        await app.hub.broadcast('live');
        await waitFor(() => events.length === 2, 'the live event');
        expect(events[1]?.data).toBe('live');
        connection.close();
      });
    }

    it('a header over Node’s 16 KB limit is refused by Node (431) and the server keeps serving', async () => {
      const app = await start([{ path: '/events', sse: { heartbeat: false } }]);
      const tooBig = `GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${'c'.repeat(20 * 1024)}\r\n\r\n`;
      const answer = await rawExchange(app.port, tooBig);
      expect(answer.status).toBe(431);
      const { connection } = await listen(app, '/events');
      expect(connection.status).toBe(200);
      connection.close();
    });
  });

  describe('a malformed client id from clientId() is answered 400 with a message that names the mistake', () => {
    for (const [what, value, message] of malformedIds) {
      it(`${what}`, async () => {
        const app = await start([{ path: '/events', sse: { clientId: () => value as string } }]);
        const answer = await rawExchange(app.port, 'GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
          enough: (text) => message.test(text),
          timeout: 5000,
        }).catch((error: Error) => ({ status: -1, text: error.message, closed: false }));
        expect(answer.status).toBe(400);
        expect(answer.text).toMatch(/client id/i);
        expect(answer.text).toMatch(message);
        expect(answer.text).not.toContain('text/event-stream');
        expect(app.hub.size).toBe(0);
      });
    }
  });

  it("an app's own refusal thrown from topics() (a 403 for a topic the user may not read) reaches the client", async () => {
    const forbidden = Object.assign(new Error('You may not read topic "payroll".'), { statusCode: 403 });
    const app = await start([
      {
        path: '/events',
        sse: {
          topics: (req) => {
            if (req.query.topic === 'payroll') throw forbidden;
            return [String(req.query.topic)];
          },
        },
      },
    ]);
    const answer = await rawExchange(
      app.port,
      'GET /events?topic=payroll HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      { enough: (text) => text.includes('payroll'), timeout: 5000 },
    );
    expect(answer.status).toBe(403);
    expect(app.hub.size).toBe(0);
    const { connection } = await listen(app, '/events?topic=news');
    expect(connection.status).toBe(200);
    await waitFor(() => app.hub.topics().includes('news'), 'the allowed topic to be subscribed');
    connection.close();
  });

  describe('malformed topics from topics() are answered 400 with a message that names the mistake', () => {
    for (const [what, value, message] of malformedTopics) {
      it(`${what}`, async () => {
        const app = await start([{ path: '/events', sse: { topics: () => value as string[] } }]);
        const answer = await rawExchange(app.port, 'GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
          enough: (text) => message.test(text),
          timeout: 5000,
        }).catch((error: Error) => ({ status: -1, text: error.message, closed: false }));
        expect(answer.status).toBe(400);
        expect(answer.text).toMatch(/topic/i);
        expect(answer.text).toMatch(message);
        expect(app.hub.size).toBe(0);
      });
    }
  });
});
