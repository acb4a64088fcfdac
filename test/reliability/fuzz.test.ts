import {
  createHub,
  createStream,
  type EventData,
  formatEvent,
  isSseError,
  type SendOptions,
  type SseMessage,
  type SseStream,
} from '@ssekit/core';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeData } from '../../packages/core/src/frame.js';
import type { TestRequest } from '../adapters/harness.js';
import { rawSse } from '../support/clients.js';
import { failOnEscapedErrors } from '../support/escaped-errors.js';
import { openLoadConnection } from '../support/load.js';
import { rawExchange } from '../support/raw-http.js';
import { report } from '../support/report.js';
import { serveStreams } from '../support/stream-server.js';
import { waitFor } from '../support/wait.js';
import { type RunningTarget, targets } from './targets.js';

// Random input where ssekit meets the outside world: the fields of a message an app formats, and the requests a
// client (or an attacker) sends. The properties: typed errors or correct bytes; the server always answers and
// stays up.

failOnEscapedErrors(20);

/** Strings as they arrive from the outside: any UTF-16 (lone surrogates too), and random bytes decoded as UTF-8. */
const text = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('\r', '\n', '\r\n', '\u0000', ':', ' ', 'a', '\u2028', '\ufeff', '\ud800') }),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

/** Optional fields: absent, a plausible value, or anything at all. */
const maybe = <T>(plausible: fc.Arbitrary<T>) =>
  fc.option(fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: fc.anything() }), { nil: undefined });

const message = fc.record(
  {
    data: maybe(fc.oneof(text, fc.jsonValue(), fc.constant(null))),
    event: maybe(text),
    id: maybe(fc.oneof(text, fc.integer(), fc.double())),
    retry: maybe(fc.oneof(fc.nat(), fc.integer(), fc.double())),
    comment: maybe(text),
  },
  { requiredKeys: [] },
);

/** Bytes on the wire become text again through UTF-8, which replaces lone surrogates with U+FFFD. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
const lines = (s: string) => wellFormed(s).split(/\r\n|\r|\n/);

describe('formatEvent() under random fields', () => {
  it('throws a typed ssekit error, or writes bytes that eventsource-parser reads back as exactly those fields', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 9, arbitrary: message }, { weight: 1, arbitrary: fc.anything() }), (input) => {
        let out: string;
        try {
          out = formatEvent(input as SseMessage);
        } catch (error) {
          expect(isSseError(error), `not a typed error: ${String(error)}`).toBe(true);
          expect((error as { code?: string }).code).toMatch(/^SSE_/);
          return;
        }
        const m = input as SseMessage;
        const events: EventSourceMessage[] = [];
        const comments: string[] = [];
        const retries: number[] = [];
        const problems: unknown[] = [];
        const parser = createParser({
          onEvent: (e) => events.push(e),
          onComment: (c) => comments.push(c),
          onRetry: (r) => retries.push(r),
          onError: (e) => problems.push(e),
        });
        parser.feed(new TextDecoder().decode(Buffer.from(out, 'utf8')));
        expect(problems).toEqual([]);
        // Every message ends with a blank line (an empty message is just that blank line).
        expect(out === '\n' || out.endsWith('\n\n')).toBe(true);
        expect(comments).toEqual(m.comment === undefined ? [] : lines(m.comment));
        // (+ 0 turns a -0 into 0, as the wire does.)
        expect(retries).toEqual(m.retry === undefined ? [] : [m.retry + 0]);
        if (m.data === undefined) {
          expect(events).toEqual([]);
          return;
        }
        expect(events).toHaveLength(1);
        const event = events[0] as EventSourceMessage;
        expect(event.data).toBe(lines(serializeData(m.data)).join('\n'));
        expect(event.event).toBe(m.event === undefined || m.event === '' ? undefined : wellFormed(m.event));
        expect(event.id).toBe(m.id === undefined ? undefined : wellFormed(String(m.id)));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('send() and broadcast() under random fields', () => {
  it('write exactly the bytes formatEvent() gives for the same fields, or throw a typed error and write nothing', async () => {
    const hub = createHub();
    let stream: SseStream | undefined;
    const server = await serveStreams(async (req, res) => {
      stream = createStream(req, res, { heartbeat: false });
      await hub.attach(stream);
      return stream;
    });
    const client = await rawSse(server.url);
    await waitFor(() => stream !== undefined, 'the stream to open');
    const open = stream as SseStream;
    let expected = '';
    try {
      await fc.assert(
        fc.asyncProperty(message, fc.boolean(), async (fields, viaHub) => {
          const m = fields as SseMessage;
          const options = { event: m.event, id: m.id, retry: m.retry } as SendOptions;
          for (const key of ['event', 'id', 'retry'] as const) if (options[key] === undefined) delete options[key];
          let id: string | number | undefined = m.id;
          try {
            if (viaHub) id = await hub.broadcast(m.data as EventData, options);
            else open.send(m.data as EventData, options);
          } catch (error) {
            expect(isSseError(error), `not a typed error: ${String(error)}`).toBe(true);
            return;
          }
          // Comments are not part of send(); the broker assigns an id when the caller gave none.
          expected += formatEvent({ data: m.data, event: m.event, id, retry: m.retry });
          const wire = Buffer.from(expected, 'utf8').toString('utf8');
          await waitFor(() => client.text.length >= wire.length, 'the event bytes');
          expect(client.text).toBe(wire);
        }),
        { numRuns: 300 },
      );
    } finally {
      client.close();
      await hub.close();
      await server.close();
    }
  });
});

/** A request with random path, query, Last-Event-ID and headers, as raw bytes (malformed ones included). */
const headerName = fc.oneof(
  fc.constantFrom('accept', 'user-agent', 'cookie', 'origin', 'x-forwarded-for', 'accept-encoding', 'cache-control'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((name) => !FRAMING.has(name)),
);
// Headers that change HTTP framing or switch protocols: a server legitimately waits for a body or an upgrade there.
const FRAMING = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'expect',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
]);
// Mostly well-formed, so that most requests get past Node's HTTP parser to ssekit; some raw bytes for the parser.
const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('latin1')) },
);
const pathPart = fc.oneof(
  { weight: 6, arbitrary: fc.constant('/events') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('/events/', '/EVENTS', '/events/../events', '//events', '/nope', '/%00', '/%ZZ', '*'),
  },
  { weight: 1, arbitrary: fc.webPath() },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((b) => `/events${Buffer.from(b).toString('latin1')}`) },
);
const query = fc.dictionary(
  fc.constantFrom('client', 'topics', 'lastEventId', 'x'),
  fc.oneof(text, fc.webSegment()).map((value) => encodeURIComponent(wellFormed(value))),
  { maxKeys: 3 },
);
const request = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant('GET') },
    { weight: 1, arbitrary: fc.constantFrom('HEAD', 'POST', 'OPTIONS', 'DELETE', 'BREW') },
  ),
  path: pathPart,
  query,
  lastEventId: fc.option(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 2000 }) },
      { weight: 1, arbitrary: text },
    ),
    { nil: undefined },
  ),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
  version: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0') },
    { weight: 1, arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/9', 'HTTP/1.1 extra') },
  ),
});

type FuzzedRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

function toBytes(r: FuzzedRequest): Buffer {
  const search = Object.entries(r.query)
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  let head = `${r.method} ${r.path}${search ? `?${search}` : ''} ${r.version}\r\nHost: 127.0.0.1\r\n`;
  if (r.lastEventId !== undefined) head += `Last-Event-ID: ${r.lastEventId}\r\n`;
  for (const [name, value] of r.headers) head += `${name}: ${value}\r\n`;
  // latin1 keeps every generated byte as one byte, the way a hostile client would send them.
  return Buffer.from(`${head}\r\n`, 'latin1');
}

const byQuery = (key: string) => (req: TestRequest) => {
  const value = req.query[key];
  return typeof value === 'string' ? value : undefined;
};

describe.each(targets)('$name under random requests', (target) => {
  let app: RunningTarget;
  beforeAll(async () => {
    app = await target.start([
      {
        path: '/events',
        sse: {
          heartbeat: false,
          clientId: byQuery('client'),
          topics: (req) => byQuery('topics')(req)?.split(',') ?? [],
        },
      },
    ]);
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers every request with a status line, and stays up', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const answer = await rawExchange(app.port, toBytes(r), { timeout: 5000 });
        // 0: Node's parser closed a connection it could not parse at all (e.g. an unsupported HTTP version) without
        // an answer, which is Node's choice, not ssekit's; any other outcome must be a response.
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 0) expect(r.version === 'HTTP/1.1' || r.version === 'HTTP/1.0').toBe(false);
        // A 5xx would mean the request broke the server side; bad input is the client's fault (4xx) or fine (200).
        expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    // Still serving, and every stream the fuzz opened is gone.
    const check = await openLoadConnection({ port: app.port, path: '/events' });
    expect(check.status).toBe(200);
    check.close();
    await waitFor(() => app.hub.size === 0, 'every fuzzed stream to be released');
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    report(`fuzz: 300 random requests, ${target.name}`, { statuses: Object.fromEntries(statuses) });
  }, 120_000);
});
