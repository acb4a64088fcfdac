import http from 'node:http';
import { isSseError, type SseStream } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { openEventSource, rawSse } from '../support/clients.js';
import { captureLogger } from '../support/logger.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { adapters, appTracker, byQuery, helloAndTickRoute, type TestRequest } from './harness.js';

// One specification of what an SSE route does, run against every adapter (see harness.ts).

const teardown = closeAfterEach();
const apps = appTracker(teardown);

const topicsByQuery = (req: TestRequest) => (typeof req.query.topics === 'string' ? req.query.topics.split(',') : []);

/** A plain request that records status and headers, for answers that are not streams. */
function request(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { accept: 'text/event-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(adapters)('$name', (adapter) => {
  describe('opening the stream', () => {
    it('answers 200 with the SSE headers at once, before any event is sent', async () => {
      const app = await apps.start(adapter, { routes: [{ path: '/events' }] });
      const client = teardown.track(await rawSse(`${app.url}/events`));
      expect(client.status).toBe(200);
      expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(client.headers['cache-control']).toBe('no-cache, no-transform');
      expect(client.headers['x-accel-buffering']).toBe('no');
      expect(client.headers.connection).toBe('keep-alive');
      expect(client.events).toEqual([]);
    });

    it('keeps the stream open when the handler returns before writing anything', async () => {
      let returned = false;
      const app = await apps.start(adapter, {
        routes: [
          {
            path: '/events',
            handler: async () => {
              returned = true;
            },
          },
        ],
      });
      const client = teardown.track(await rawSse(`${app.url}/events`));
      await waitFor(() => returned && app.hub.size === 1, 'the handler to return');
      await app.hub.broadcast('later');
      expect((await client.waitForEvents(1))[0]?.data).toBe('later');
      expect(client.ended).toBe(false);
    });

    it("adds the route's headers option, which overrides ssekit's defaults", async () => {
      const app = await apps.start(adapter, {
        routes: [{ path: '/events', sse: { headers: { 'X-Trace': 'abc', 'Cache-Control': 'no-store' } } }],
      });
      const client = teardown.track(await rawSse(`${app.url}/events`));
      expect(client.headers['x-trace']).toBe('abc');
      expect(client.headers['cache-control']).toBe('no-store');
      expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    });

    it('sends the retry option first, so the client knows its reconnection delay', async () => {
      const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { retry: 1234 } }] });
      const client = teardown.track(await rawSse(`${app.url}/events`));
      await client.waitForText('retry: 1234\n\n');
      expect(client.text.startsWith('retry: 1234\n\n')).toBe(true);
    });

    it('answers HEAD with the SSE head and no stream', async () => {
      const app = await apps.start(adapter, { routes: [{ path: '/events' }] });
      const answer = await request(`${app.url}/events`, 'HEAD');
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(app.hub.size).toBe(0);
    });

    it('lets the app answer 204 before the stream, which stops an EventSource for good', async () => {
      const app = await apps.start(adapter, { routes: [{ path: '/events', refuse: () => true }] });
      const client = teardown.track(openEventSource(`${app.url}/events`));
      await waitFor(() => client.errors.length > 0, 'the client to give up');
      expect(client.errors[0]?.code).toBe(204);
      expect(client.es.readyState).toBe(client.es.CLOSED);
      expect(app.hub.size).toBe(0);
    });
  });

  describe('sending', () => {
    it('delivers default and named events the handler sends, with their ids', async () => {
      const app = await apps.start(adapter, { routes: [helloAndTickRoute] });
      const client = teardown.track(openEventSource(`${app.url}/events`, { eventTypes: ['tick'] }));
      expect(await client.waitForEvents(2)).toEqual([
        { type: 'message', data: 'hello', lastEventId: '' },
        { type: 'tick', data: '{"n":1}', lastEventId: 't1' },
      ]);
    });

    it('routes hub.send to one client id, publish to its topics and broadcast to everyone', async () => {
      const app = await apps.start(adapter, {
        routes: [{ path: '/events', sse: { clientId: byQuery, topics: topicsByQuery } }],
      });
      const alice = teardown.track(await rawSse(`${app.url}/events?id=alice&topics=news`));
      const bob = teardown.track(await rawSse(`${app.url}/events?id=bob&topics=sport`));
      await waitFor(() => app.hub.size === 2, 'both clients to be registered');
      await app.hub.send('alice', 'for alice');
      await app.hub.publish('sport', 'sport news');
      await app.hub.broadcast('for all');
      await alice.waitForEvents(2);
      await bob.waitForEvents(2);
      expect(alice.events.map((e) => e.data)).toEqual(['for alice', 'for all']);
      expect(bob.events.map((e) => e.data)).toEqual(['sport news', 'for all']);
    });

    it('subscribes the connection to a topic from the handler', async () => {
      const app = await apps.start(adapter, {
        routes: [{ path: '/events', handler: (stream) => stream.subscribe('late') }],
      });
      const client = teardown.track(await rawSse(`${app.url}/events`));
      await waitFor(() => app.hub.topics().includes('late'), 'the subscription');
      await app.hub.publish('late', 'subscribed');
      expect((await client.waitForEvents(1))[0]?.data).toBe('subscribed');
    });
  });

  describe('refusing bad requests before the stream opens', () => {
    it.each([
      ['a client id that is too long', `id=${'x'.repeat(300)}`],
      ['a client id with a control character', 'id=a%07b'],
      ['an empty topic', 'topics=news,'],
    ])('answers 400 for %s, with no SSE header', async (_what, query) => {
      const app = await apps.start(adapter, {
        routes: [{ path: '/events', sse: { clientId: byQuery, topics: topicsByQuery } }],
      });
      const answer = await request(`${app.url}/events?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.headers['content-type']).not.toMatch(/event-stream/);
      expect(app.hub.size).toBe(0);
    });

    it('answers topics() that returns a single string with 400, not one topic per character', async () => {
      const app = await apps.start(adapter, {
        routes: [{ path: '/events', sse: { topics: () => 'news' as unknown as string[] } }],
      });
      expect((await request(`${app.url}/events`)).status).toBe(400);
    });

    it("passes an error thrown by clientId() to the framework, with the error's statusCode", async () => {
      const app = await apps.start(adapter, {
        routes: [
          {
            path: '/events',
            sse: {
              clientId: () => {
                throw Object.assign(new Error('who are you?'), { statusCode: 401 });
              },
            },
          },
        ],
      });
      const answer = await request(`${app.url}/events`);
      expect(answer.status).toBe(401);
      expect(answer.headers['content-type']).not.toMatch(/event-stream/);
    });
  });

  describe('errors after the stream opened', () => {
    it.each([
      [
        'throws',
        (stream: SseStream) => {
          stream.send('before');
          throw new Error('boom');
        },
      ],
      [
        'rejects',
        async (stream: SseStream) => {
          stream.send('before');
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('boom');
        },
      ],
    ])('ends the stream with reason "error" and logs it when the handler %s, and keeps serving', async (_how, fail) => {
      const logger = captureLogger();
      const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { logger }, handler: fail }] });
      const client = teardown.track(await rawSse(`${app.url}/events`));
      await client.waitForEnd();
      expect(client.events.map((e) => e.data)).toEqual(['before']);
      expect(app.hub.stats().closed.error).toBe(1);
      expect(logger.errorMessages).toEqual([
        '[ssekit] the SSE route handler failed after the stream opened; the stream ends with reason "error".',
      ]);
      expect(logger.errors[0]?.[1]).toMatchObject({ message: 'boom' });
      const next = teardown.track(await rawSse(`${app.url}/events`));
      expect(next.status).toBe(200);
    });
  });

  describe('middleware in front of the route', () => {
    it('keeps the CORS headers and delivers each event at once behind CORS and compression', async () => {
      const app = await apps.start(adapter, { routes: [{ path: '/events' }], corsAndCompression: true });
      const client = teardown.track(
        await rawSse(`${app.url}/events`, { origin: 'http://app.example', 'accept-encoding': 'gzip, deflate, br' }),
      );
      expect(client.headers['access-control-allow-origin']).toBe('http://app.example');
      // `no-transform` keeps compressors off the stream: nothing waits in a gzip buffer.
      expect(client.headers['content-encoding']).toBeUndefined();
      await waitFor(() => app.hub.size === 1, 'the stream to register');
      await app.hub.broadcast('through the middleware');
      expect((await client.waitForEvents(1))[0]?.data).toBe('through the middleware');
    });
  });

  describe('setup', () => {
    it.each([
      ['an unknown option', { heartbaet: 1000 }, 'SSE_INVALID_OPTION'],
      ['a negative heartbeat', { heartbeat: -1 }, 'SSE_INVALID_OPTION'],
      ['a retry that is not a number', { retry: 'soon' }, 'SSE_INVALID_RETRY'],
      ['a clientId that is not a function', { clientId: 'alice' }, 'SSE_INVALID_OPTION'],
      ['a hub that is not a hub', { hub: {} }, 'SSE_INVALID_OPTION'],
    ])('rejects %s when the route is declared', async (_what, options, code) => {
      const error = await adapter.setupError(options);
      expect(isSseError(error)).toBe(true);
      expect((error as { code: string }).code).toBe(code);
    });
  });

  describe("the seeds' Spring SseEmitter service, recreated", () => {
    it("sends to one client's tabs only, to all with sendAll, and disconnect ends that client's tabs", async () => {
      const app = await apps.track(adapter.springService());
      const connect = (id: string) => rawSse(`${app.url}/api/sse/connect/${id}`).then((raw) => teardown.track(raw));
      const [aliceTab1, aliceTab2, bob] = await Promise.all([connect('alice'), connect('alice'), connect('bob')]);
      await waitFor(() => app.hub.size === 3, 'three tabs to connect');

      const post = (path: string, body: unknown, method = 'POST') =>
        fetch(`${app.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post('/api/sse/send/alice', { text: 'hi alice' })).status).toBe(200);
      expect((await post('/api/sse/sendAll', { text: 'hi all' })).status).toBe(200);
      for (const tab of [aliceTab1, aliceTab2]) {
        expect((await tab.waitForEvents(2)).map((e) => e.data)).toEqual(['{"text":"hi alice"}', '{"text":"hi all"}']);
      }
      expect((await bob.waitForEvents(1)).map((e) => e.data)).toEqual(['{"text":"hi all"}']);

      const disconnected = await fetch(`${app.url}/api/sse/disconnect/alice`, { method: 'DELETE' });
      expect(await disconnected.json()).toEqual({ closed: 2 });
      await aliceTab1.waitForEnd();
      await aliceTab2.waitForEnd();
      expect(bob.ended).toBe(false);
      expect(app.hub.clientIds()).toEqual(['bob']);
    });
  });
});
