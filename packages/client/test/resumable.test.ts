import type http from 'node:http';
import { connect, type SseEvent } from '@ssekit/client';
import { describe, expect, it } from 'vitest';
import { type RecordedRequest, serveRecorded, sseHead } from '../../../test/support/recording-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// The client's side of ssekit's resumable streams (RESUMABLE.md), against a small node:http server that plays the
// server's side: a POST starts a stream whose log is `tokens`, a request with the key header resumes it after
// Last-Event-ID, and a cancel is answered 204.

const teardown = closeAfterEach();
const fast = { initialDelay: 5, maxDelay: 20, jitter: 0.5 };
const KEY = 'k-123';

type ChatEvents = { token: { text: string } };

interface Script {
  tokens: string[];
  /** Each response drops (socket destroyed) after this many entries; `Infinity` never. */
  dropAfter?: number;
  /** Send the key header on the first response (a server without `Access-Control-Expose-Headers` hides it). */
  keyHeader?: boolean;
  /** The terminal entry. */
  end?: string;
  /** How a resume is answered instead of the log (a status), by resume number (1 for the first). */
  refuseResume?: (resume: number) => number | undefined;
}

/** The log: `ssekit-stream` first (seq 1), then one `token` per text, then the terminal entry. */
function entries(script: Script): string[] {
  const log = [`event: ssekit-stream\ndata: {"key":"${KEY}"}\n`];
  for (const text of script.tokens) log.push(`event: token\ndata: ${JSON.stringify({ text })}\n`);
  log.push(script.end ?? 'event: ssekit-done\ndata: {}\n');
  return log.map((entry, i) => `id: ${i + 1}\n${entry}\n`);
}

async function resumableServer(script: Script) {
  const log = entries(script);
  let resumes = 0;
  return teardown.track(
    await serveRecorded((req: RecordedRequest, res: http.ServerResponse) => {
      const key = req.headers['ssekit-stream-key'];
      if (key !== undefined) {
        if (key !== KEY)
          return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Unknown stream."}');
        if (req.headers['ssekit-stream-action'] === 'cancel') return void res.writeHead(204).end();
        const refusal = script.refuseResume?.(++resumes);
        if (refusal !== undefined) return void res.writeHead(refusal).end();
      }
      sseHead(res, key !== undefined || script.keyHeader !== false ? { 'ssekit-stream-key': KEY } : {});
      const from = Number(req.headers['last-event-id'] ?? 0);
      const rest = log.slice(from, from + (script.dropAfter ?? Infinity));
      res.write(rest.join(''));
      if (from + rest.length === log.length) res.end();
      else setTimeout(() => res.destroy(), 10);
    }),
  );
}

async function collect(client: AsyncIterable<SseEvent<ChatEvents>>): Promise<string[]> {
  const texts: string[] = [];
  for await (const event of client) texts.push(event.data.text);
  return texts;
}

const start = (url: string) =>
  teardown.track(connect<ChatEvents>(url, { method: 'POST', body: '{"prompt":"hi"}', retry: fast }));

describe('a resumable stream', () => {
  it('is resumed after a drop with the key and Last-Event-ID, the same URL and method, and no body', async () => {
    const server = await resumableServer({ tokens: ['a', 'b', 'c', 'd'], dropAfter: 3 });
    expect(await collect(start(`${server.url}/chat?x=1`))).toEqual(['a', 'b', 'c', 'd']);
    expect(
      server.requests.map(({ method, url, body, headers }) => [
        method,
        url,
        body,
        headers['ssekit-stream-key'],
        headers['last-event-id'],
      ]),
    ).toEqual([
      ['POST', '/chat?x=1', '{"prompt":"hi"}', undefined, undefined],
      ['POST', '/chat?x=1', '', KEY, '3'],
    ]);
  });

  it('keeps its position across every drop, not only the first', async () => {
    const server = await resumableServer({ tokens: ['a', 'b', 'c', 'd', 'e'], dropAfter: 2 });
    expect(await collect(start(server.url))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '2', '4', '6']);
    expect(server.requests.slice(1).every((r) => r.body === '' && r.headers['ssekit-stream-key'] === KEY)).toBe(true);
  });

  it('takes the key from the first event when the key header is not visible', async () => {
    const server = await resumableServer({ tokens: ['a', 'b'], dropAfter: 2, keyHeader: false });
    const client = start(server.url);
    expect(await collect(client)).toEqual(['a', 'b']);
    expect(client.streamKey).toBe(KEY);
    expect(server.requests[1]?.headers['ssekit-stream-key']).toBe(KEY);
  });

  it('resumes when the response ends cleanly before a terminal event', async () => {
    const log = entries({ tokens: ['a', 'b'] });
    const server = teardown.track(
      await serveRecorded((req, res, index) => {
        sseHead(res, { 'ssekit-stream-key': KEY });
        const from = Number(req.headers['last-event-id'] ?? 0);
        res.end(log.slice(from, index === 0 ? 2 : undefined).join(''));
      }),
    );
    expect(await collect(start(server.url))).toEqual(['a', 'b']);
    expect(server.requests).toHaveLength(2);
  });

  it('reports ssekit-error as SSE_CLIENT_STREAM_ERROR with its reason, after the events before it', async () => {
    const server = await resumableServer({
      tokens: ['a'],
      end: 'event: ssekit-error\ndata: {"reason":"producer-error","message":"model failed"}\n',
    });
    const client = start(server.url);
    const texts: string[] = [];
    const failure = await (async () => {
      for await (const event of client) texts.push(event.data.text);
    })().catch((error: unknown) => error);
    expect(texts).toEqual(['a']);
    expect(failure).toMatchObject({
      code: 'SSE_CLIENT_STREAM_ERROR',
      reason: 'producer-error',
      message: 'The stream ended with an error: producer-error (model failed).',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('reports ssekit-reset as SSE_CLIENT_STREAM_RESET', async () => {
    const server = await resumableServer({ tokens: [], end: 'event: ssekit-reset\ndata: {"reason":"unknown"}\n' });
    await expect(start(server.url).done).rejects.toMatchObject({ code: 'SSE_CLIENT_STREAM_RESET', reason: 'unknown' });
  });

  it.each([404, 410, 403])('stops when a resume is answered %i, without retrying', async (status) => {
    const server = await resumableServer({ tokens: ['a', 'b'], dropAfter: 2, refuseResume: () => status });
    await expect(start(server.url).done).rejects.toMatchObject({ code: 'SSE_CLIENT_HTTP_STATUS', status });
    expect(server.requests).toHaveLength(2);
  });

  it('retries a resume answered 503, still without the body', async () => {
    const server = await resumableServer({
      tokens: ['a', 'b'],
      dropAfter: 2,
      refuseResume: (n) => (n === 1 ? 503 : undefined),
    });
    expect(await collect(start(server.url))).toEqual(['a', 'b']);
    expect(server.requests.map((r) => r.body)).toEqual(['{"prompt":"hi"}', '', '']);
  });

  it('starts as a resume, without the body, when given a streamKey and a lastEventId', async () => {
    const server = await resumableServer({ tokens: ['a', 'b', 'c'] });
    const client = teardown.track(
      connect<ChatEvents>(server.url, { method: 'POST', body: '{}', streamKey: KEY, lastEventId: '2', retry: fast }),
    );
    expect(await collect(client)).toEqual(['b', 'c']);
    expect(server.requests[0]).toMatchObject({ body: '', headers: { 'ssekit-stream-key': KEY, 'last-event-id': '2' } });
  });
});

describe('cancelling a resumable stream', () => {
  it('sends the same URL and method with the key and `Ssekit-Stream-Action: cancel`, no body, and closes', async () => {
    const server = await resumableServer({ tokens: ['a', 'b'], dropAfter: 2 });
    const client = start(`${server.url}/chat`);
    await new Promise<void>((resolve) => client.on('token', () => resolve()));
    await client.cancel();
    expect(client.state).toBe('closed');
    expect(server.requests.at(-1)).toMatchObject({
      method: 'POST',
      url: '/chat',
      body: '',
      headers: { 'ssekit-stream-key': KEY, 'ssekit-stream-action': 'cancel' },
    });
  });

  it('rejects with the status when the server refuses the cancel', async () => {
    const server = await resumableServer({ tokens: [] });
    const client = teardown.track(connect(server.url, { streamKey: 'other', retry: fast }));
    await expect(client.cancel()).rejects.toMatchObject({
      code: 'SSE_CLIENT_HTTP_STATUS',
      status: 404,
      message: `Cancelling: GET ${server.url} answered 404: Unknown stream.`,
    });
  });

  it('rejects with SSE_CLIENT_NOT_RESUMABLE while the key is not known', async () => {
    const server = await resumableServer({ tokens: [] });
    const client = teardown.track(connect(server.url, { retry: fast }));
    await expect(client.cancel()).rejects.toMatchObject({ code: 'SSE_CLIENT_NOT_RESUMABLE' });
  });
});
