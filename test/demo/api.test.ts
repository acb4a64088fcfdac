import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Framework } from '../../demo/src/app.js';
import { MAX_MESSAGE_LENGTH } from '../../demo/src/notifications.js';
import { type RunningDemo, startDemo } from '../../demo/src/start.js';
import { rawSse } from '../support/clients.js';

// The demo's HTTP surface with plain HTTP clients (curl's view): the same answers on Express and on Fastify.

const RETRY = 250;
const quiet = { info: () => {}, error: (message: string, error?: unknown) => console.error(message, error) };

describe.each<Framework>(['express', 'fastify'])('the demo API on %s', (framework) => {
  let demo: RunningDemo;
  let n = 0;
  const unique = (name: string) => `${name}-${++n}`;
  const post = (path: string, init: RequestInit = {}) => fetch(`${demo.address}${path}`, { method: 'POST', ...init });
  const json = (body: unknown): RequestInit => ({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  beforeAll(async () => {
    demo = await startDemo({
      port: 0,
      framework,
      intervals: { tick: 50, perf: 100, word: 5 },
      retry: RETRY,
      logger: quiet,
    });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('serves the page, its script, its style and its icon, each with its type', async () => {
    const types: Record<string, string> = {
      '/': 'text/html',
      '/app.js': 'text/javascript',
      '/style.css': 'text/css',
      '/favicon.svg': 'image/svg+xml',
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await fetch(`${demo.address}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toContain(type);
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
    expect((await fetch(`${demo.address}/nothing-here`)).status).toBe(404);
  });

  it('connect/:clientId opens a stream that greets the client with where it is connected', async () => {
    const clientId = unique('alice');
    const client = await rawSse(`${demo.address}/api/sse/connect/${clientId}`);
    try {
      expect(client.status).toBe(200);
      expect(client.headers['content-type']).toContain('text/event-stream');
      const [hello] = await client.waitForEvents(1);
      expect(client.retries).toEqual([RETRY]);
      expect(hello?.event).toBe('connected');
      expect(hello?.id).toBeUndefined();
      expect(JSON.parse(hello?.data ?? '')).toEqual({
        clientId,
        instance: demo.instance,
        framework,
        broker: 'memory',
        retry: RETRY,
        resumedFrom: null,
      });
    } finally {
      client.close();
    }
  });

  it('send/:clientId takes the message as JSON, as a form field or in the query, and answers with the event id', async () => {
    const clientId = unique('bob');
    const client = await rawSse(`${demo.address}/api/sse/connect/${clientId}`);
    try {
      await client.waitForEvents(1);
      const answers = [
        await post(`/api/sse/send/${clientId}`, json({ message: 'as json' })),
        await post(`/api/sse/send/${clientId}`, {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'message=as+a+form',
        }),
        await post(`/api/sse/send/${clientId}?message=${encodeURIComponent('in the query')}`),
      ];
      const ids: string[] = [];
      for (const answer of answers) {
        expect(answer.status).toBe(202);
        const body = (await answer.json()) as { id: string; clientId: string; connectedHere: number };
        expect(body).toMatchObject({ clientId, connectedHere: 1 });
        ids.push(body.id);
      }
      const events = (await client.waitForEvents(4)).slice(1);
      expect(events.map((e) => e.event)).toEqual(['notify', 'notify', 'notify']);
      expect(events.map((e) => e.id)).toEqual(ids);
      expect(events.map((e) => JSON.parse(e.data).message)).toEqual(['as json', 'as a form', 'in the query']);
      expect(JSON.parse(events[0]?.data ?? '')).toMatchObject({ scope: 'client', to: clientId, via: demo.instance });
    } finally {
      client.close();
    }
  });

  it('sendAll reaches every notification connection and no feed connection', async () => {
    const alice = await rawSse(`${demo.address}/api/sse/connect/${unique('alice')}`);
    const bob = await rawSse(`${demo.address}/api/sse/connect/${unique('bob')}`);
    const stocks = await rawSse(`${demo.address}/api/stocks`);
    try {
      await alice.waitForEvents(1);
      await bob.waitForEvents(1);
      const answer = await post('/api/sse/sendAll', json({ message: 'hello all' }));
      expect(answer.status).toBe(202);
      const { id } = (await answer.json()) as { id: string };
      for (const client of [alice, bob]) {
        const [, note] = await client.waitForEvents(2);
        expect(note).toMatchObject({ event: 'notify', id });
        expect(JSON.parse(note?.data ?? '')).toMatchObject({ message: 'hello all', scope: 'all' });
      }
      // A tick published after the broadcast reached the feed stream, and nothing else did.
      await stocks.waitForEvents(1);
      const after = stocks.events.length;
      await stocks.waitForEvents(after + 1);
      expect(new Set(stocks.events.map((e) => e.event))).toEqual(new Set(['tick']));
    } finally {
      for (const client of [alice, bob, stocks]) client.close();
    }
  });

  it('disconnect/:clientId sends a bye event, then ends every stream of that client', async () => {
    const clientId = unique('carol');
    const tabs = [
      await rawSse(`${demo.address}/api/sse/connect/${clientId}`),
      await rawSse(`${demo.address}/api/sse/connect/${clientId}`),
    ];
    for (const tab of tabs) await tab.waitForEvents(1);
    const answer = await fetch(`${demo.address}/api/sse/disconnect/${clientId}`, { method: 'DELETE' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ clientId, disconnected: 2 });
    for (const tab of tabs) {
      await tab.waitForEnd();
      expect(tab.events.map((e) => e.event)).toEqual(['connected', 'bye']);
    }
  });

  it('drop/:clientId cuts the client off like a network failure; on resume it gets the note sent meanwhile', async () => {
    const clientId = unique('dave');
    const client = await rawSse(`${demo.address}/api/sse/connect/${clientId}`);
    await client.waitForEvents(1);
    await post(`/api/sse/send/${clientId}`, json({ message: 'before the drop' }));
    const [, seen] = await client.waitForEvents(2);
    const answer = await post(`/api/sse/drop/${clientId}`);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { dropped: number; id: string };
    expect(body.dropped).toBe(1);
    await client.waitForEnd();
    // No orderly end: no bye, no retry hint beyond the one sent at connect.
    expect(client.events.map((e) => e.event)).toEqual(['connected', 'notify']);
    expect(client.retries).toEqual([RETRY]);

    const resumed = await rawSse(`${demo.address}/api/sse/connect/${clientId}`, { 'last-event-id': seen?.id ?? '' });
    try {
      const [note, hello] = await resumed.waitForEvents(2);
      expect(note).toMatchObject({ event: 'notify', id: body.id });
      expect(JSON.parse(note?.data ?? '')).toMatchObject({ scope: 'system', to: clientId });
      expect(hello?.event).toBe('connected');
      expect(JSON.parse(hello?.data ?? '').resumedFrom).toBe(seen?.id);
    } finally {
      resumed.close();
    }
  });

  it('answers mistakes with a 4xx whose JSON says what was wrong', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [post('/api/sse/send/erin', json({})), 400, 'MISSING_MESSAGE'],
      [post('/api/sse/send/erin', json({ message: '   ' })), 400, 'MISSING_MESSAGE'],
      [post('/api/sse/send/erin', json({ message: 'x'.repeat(MAX_MESSAGE_LENGTH + 1) })), 400, 'MESSAGE_TOO_LONG'],
      [post('/api/sse/send/%01', json({ message: 'hi' })), 400, 'SSE_INVALID_CLIENT_ID'],
      [post(`/api/sse/send/${'x'.repeat(300)}`, json({ message: 'hi' })), 400, 'SSE_INVALID_CLIENT_ID'],
      [fetch(`${demo.address}/api/sse/connect/erin?topics=secrets`), 400, 'UNKNOWN_TOPIC'],
      [fetch(`${demo.address}/api/sse/connect/%01`), 400, 'SSE_INVALID_CLIENT_ID'],
    ];
    for (const [request, status, code] of cases) {
      const res = await request;
      expect(res.status, code).toBe(status);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe(code);
      expect(body.message.length).toBeGreaterThan(10);
    }
  });
});
