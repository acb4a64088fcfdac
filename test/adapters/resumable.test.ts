import type { EventData } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { failOnEscapedErrors } from '../support/escaped-errors.js';
import {
  cancelStreamOver,
  feed,
  keyOf,
  producing,
  readToEnd,
  resumeStream,
  startStream,
} from '../support/resumable.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { adapters, appTracker, type TestRequest, type TestRoute } from './harness.js';

// Resumable streams on a POST route with a JSON body, in every adapter: the head carries the key, a reconnect with
// the key and Last-Event-ID resumes without running the handler, a cancel is answered 204, and the refusals are
// the framework's own error responses.

const teardown = closeAfterEach();
const apps = appTracker(teardown);
failOnEscapedErrors(20);

type ChatEvents = { token: { text: string } };

const user = (req: TestRequest) => req.headers['x-user'] as string | undefined;

describe.each(adapters)('$name', (adapter) => {
  async function chat(options: { grace?: number; ttl?: number } = {}) {
    const source = feed();
    const prompts: EventData[] = [];
    const route: TestRoute = {
      path: '/chat',
      method: 'post',
      sse: { resumable: { owner: user, ...options } },
      handler: (stream, req) => {
        prompts.push(req.body as EventData);
        return stream.resumable<ChatEvents>(
          (signal) => source.producer(signal) as AsyncIterable<{ event: 'token'; data: { text: string } }>,
        );
      },
    };
    const app = await apps.start(adapter, { routes: [route] });
    return { app, source, prompts, url: `${app.url}/chat` };
  }

  it('starts on a POST with a JSON body: the key in the head and the first event, every token, then ssekit-done', async () => {
    const { url, source, prompts } = await chat();
    const raw = teardown.track(await startStream(url, '{"prompt":"hi"}', { 'x-user': 'alice' }));
    expect(raw.status).toBe(200);
    const key = keyOf(raw);
    await producing(source);
    expect(prompts).toEqual([{ prompt: 'hi' }]);
    source.push('token', { text: 'Hello' });
    source.push('token', { text: ' world' });
    source.end();
    expect(await readToEnd(raw)).toEqual([
      ['1', 'ssekit-stream', JSON.stringify({ key })],
      ['2', 'token', '{"text":"Hello"}'],
      ['3', 'token', '{"text":" world"}'],
      ['4', 'ssekit-done', '{}'],
    ]);
  });

  it('resumes after a network drop from Last-Event-ID, without running the handler again: no gap, no duplicate', async () => {
    const { app, url, source, prompts } = await chat();
    const raw = teardown.track(await startStream(url, '{"prompt":"hi"}', { 'x-user': 'alice' }));
    const key = keyOf(raw);
    await producing(source);
    source.push('token', { text: 'a' });
    await raw.waitForEvents(2);
    app.sockets.destroyAll();
    source.push('token', { text: 'b' });
    const resumed = teardown.track(await resumeStream(url, key, raw.events.at(-1)?.id, { 'x-user': 'alice' }));
    expect(resumed.status).toBe(200);
    await resumed.waitForEvents(1);
    source.push('token', { text: 'c' });
    source.end();
    const seen = [...raw.events.map((e) => e.id), ...(await readToEnd(resumed)).map(([id]) => id)];
    expect(seen).toEqual(['1', '2', '3', '4', '5']);
    expect(prompts).toHaveLength(1);
    expect(source.runs).toBe(1);
  });

  it('a finished stream stays readable', async () => {
    const { url, source } = await chat();
    const raw = teardown.track(await startStream(url, '{}', { 'x-user': 'alice' }));
    await producing(source);
    source.push('token', { text: 'a' });
    source.end();
    await readToEnd(raw);
    const again = teardown.track(await resumeStream(url, keyOf(raw), '1', { 'x-user': 'alice' }));
    expect((await readToEnd(again)).map(([id, event]) => [id, event])).toEqual([
      ['2', 'token'],
      ['3', 'ssekit-done'],
    ]);
  });

  it('answers 404, 403 and 400 with the framework error response, before any SSE head', async () => {
    const { url, source } = await chat();
    const raw = teardown.track(await startStream(url, '{}', { 'x-user': 'alice' }));
    await producing(source);
    const key = keyOf(raw);
    const unknown = teardown.track(await resumeStream(url, 'unknown-key', undefined, { 'x-user': 'alice' }));
    const stranger = teardown.track(await resumeStream(url, key, undefined, { 'x-user': 'mallory' }));
    const malformed = teardown.track(await resumeStream(url, key, 'x1', { 'x-user': 'alice' }));
    expect([unknown.status, stranger.status, malformed.status]).toEqual([404, 403, 400]);
    for (const answer of [unknown, stranger, malformed]) {
      expect(String(answer.headers['content-type'])).not.toMatch(/event-stream/);
      expect(answer.headers['ssekit-stream-key']).toBeUndefined();
    }
  });

  it('answers 410 for an expired stream', async () => {
    const { url, source } = await chat({ ttl: 50 });
    const raw = teardown.track(await startStream(url, '{}', { 'x-user': 'alice' }));
    await producing(source);
    source.end();
    await readToEnd(raw);
    let status = 200;
    const deadline = Date.now() + 3000;
    while (status !== 410 && Date.now() < deadline) {
      const probe = await resumeStream(url, keyOf(raw), undefined, { 'x-user': 'alice' });
      status = probe.status;
      probe.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(410);
  });

  it('cancels with Ssekit-Stream-Action: 204 once the producer signal is aborted, and the reader ends', async () => {
    const { url, source } = await chat();
    const raw = teardown.track(await startStream(url, '{}', { 'x-user': 'alice' }));
    await producing(source);
    const answer = teardown.track(await cancelStreamOver(url, keyOf(raw), { 'x-user': 'alice' }));
    expect(answer.status).toBe(204);
    expect(source.signal?.aborted).toBe(true);
    expect((await readToEnd(raw)).at(-1)).toEqual(['2', 'ssekit-error', '{"reason":"cancelled"}']);
  });

  it('aborts a producer nobody reads after the grace period', async () => {
    const { url, source } = await chat({ grace: 100 });
    const raw = await startStream(url, '{}', { 'x-user': 'alice' });
    await producing(source);
    raw.close();
    await waitFor(() => source.signal?.aborted === true, 'the producer to be abandoned', 3000);
    expect(source.signal?.reason).toBe('abandoned');
  });
});
