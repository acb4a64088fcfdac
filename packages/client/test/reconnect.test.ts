import { connect, type RetryInfo } from '@ssekit/client';
import { describe, expect, it } from 'vitest';
import { serveRecorded, sseHead } from '../../../test/support/recording-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// When and how a client reconnects to a stream that is not resumable (the EventSource rules), with short delays.

const teardown = closeAfterEach();
const fast = { initialDelay: 10, maxDelay: 40, factor: 2, jitter: 0.5 };

describe('reconnecting', () => {
  it('reconnects after the server ends the response, sending Last-Event-ID with the last id each time', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res, index) => {
        sseHead(res);
        // The third response sends an event without an id: the cursor stays at 2.
        if (index < 2) res.end(`id: ${index + 1}\ndata: ${index + 1}\n\n`);
        else if (index === 2) res.end('data: 3\n\n');
        else res.end('event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const client = teardown.track(connect(server.url, { retry: fast }));
    await client.done;
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '1', '2', '2']);
  });

  it('reconnects after a network drop, with Last-Event-ID', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res, index) => {
        sseHead(res);
        if (index === 0) {
          res.write('id: a\ndata: 1\n\n');
          setTimeout(() => res.destroy(), 20);
        } else res.end('event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const client = teardown.track(connect(server.url, { retry: fast }));
    await client.done;
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, 'a']);
  });

  it('waits the `retry:` the server sent, plus at most the jitter', async () => {
    const retries: RetryInfo[] = [];
    const server = teardown.track(
      await serveRecorded((_req, res, index) => {
        sseHead(res);
        res.end(index === 0 ? 'retry: 60\ndata: 1\n\n' : 'event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const client = teardown.track(connect(server.url, { retry: fast, onRetry: (info) => retries.push(info) }));
    await client.done;
    expect(retries).toHaveLength(1);
    expect(retries[0]?.delay).toBeGreaterThanOrEqual(60);
    expect(retries[0]?.delay).toBeLessThanOrEqual(90);
  });

  it('backs off exponentially with jitter on 5xx, up to maxDelay, and starts over after a connection opens', async () => {
    const retries: RetryInfo[] = [];
    const server = teardown.track(
      await serveRecorded((_req, res, index) => {
        // 4 failures, one stream that ends, 1 failure, then the end.
        if (index < 4 || index === 5) {
          res.writeHead(503).end();
          return;
        }
        sseHead(res);
        res.end(index === 4 ? 'data: 1\n\n' : 'event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const client = teardown.track(connect(server.url, { retry: fast, onRetry: (info) => retries.push(info) }));
    await client.done;
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 1, 2]);
    const bases = [10, 20, 40, 40, 10, 20];
    for (const [i, retry] of retries.entries()) {
      expect(retry.delay, `retry ${i}`).toBeGreaterThanOrEqual(bases[i] as number);
      expect(retry.delay, `retry ${i}`).toBeLessThanOrEqual((bases[i] as number) * 1.5);
    }
    expect(retries[0]?.cause).toMatchObject({ code: 'SSE_CLIENT_HTTP_STATUS', status: 503 });
  });

  it('gives up after retry.maxAttempts failures in a row with SSE_CLIENT_RETRIES_EXHAUSTED', async () => {
    const server = teardown.track(await serveRecorded((_req, res) => res.writeHead(502).end()));
    const client = connect(server.url, { retry: { ...fast, maxAttempts: 2 } });
    await expect(client.done).rejects.toMatchObject({ code: 'SSE_CLIENT_RETRIES_EXHAUSTED', status: 502 });
    expect(server.requests).toHaveLength(3);
  });

  it('retries a connection the server refused (nothing listening)', async () => {
    const server = await serveRecorded(() => undefined);
    await server.close();
    const retries: RetryInfo[] = [];
    const client = connect(server.url, {
      retry: { ...fast, maxAttempts: 1 },
      onRetry: (info) => retries.push(info),
    });
    await expect(client.done).rejects.toMatchObject({ code: 'SSE_CLIENT_RETRIES_EXHAUSTED' });
    expect(retries).toHaveLength(1);
    expect(retries[0]?.cause).toBeInstanceOf(TypeError);
  });

  it('reconnects when nothing arrived for idleTimeout ms', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res, index) => {
        sseHead(res);
        // The first response goes silent without closing.
        if (index === 0) res.write('data: 1\n\n');
        else res.end('event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const retries: RetryInfo[] = [];
    const client = teardown.track(
      connect(server.url, { retry: fast, idleTimeout: 50, onRetry: (info) => retries.push(info) }),
    );
    await client.done;
    expect(server.requests).toHaveLength(2);
    expect(retries[0]?.cause).toMatchObject({
      code: 'SSE_CLIENT_CONNECTION_LOST',
      message: /Nothing arrived for 50 ms/,
    });
  });

  it('does not reconnect with retry: false: the end of the response ends the client', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res) => {
        sseHead(res);
        res.end('data: 1\n\n');
      }),
    );
    await connect(server.url, { retry: false }).done;
    expect(server.requests).toHaveLength(1);
  });
});

describe('ending without a retry', () => {
  it.each([400, 401, 403, 404, 410, 429])(
    'reports a %i as SSE_CLIENT_HTTP_STATUS with the status and the server message',
    async (status) => {
      const server = teardown.track(
        await serveRecorded((_req, res) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Nope.' })),
        ),
      );
      const errors: unknown[] = [];
      const client = connect(server.url, { retry: fast, onError: (error) => errors.push(error) });
      await expect(client.done).rejects.toMatchObject({
        name: 'SseClientError',
        code: 'SSE_CLIENT_HTTP_STATUS',
        status,
        message: `GET ${server.url} answered ${status}: Nope.`,
      });
      expect(errors).toHaveLength(1);
      expect(server.requests).toHaveLength(1);
    },
  );

  it('reports a 200 that is not text/event-stream as SSE_CLIENT_CONTENT_TYPE', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>')),
    );
    const client = connect(server.url, { retry: fast });
    await expect(client.done).rejects.toMatchObject({ code: 'SSE_CLIENT_CONTENT_TYPE', status: 200 });
    expect(server.requests).toHaveLength(1);
  });

  it('ends normally on a 204, as EventSource does', async () => {
    const server = teardown.track(await serveRecorded((_req, res) => res.writeHead(204).end()));
    const client = connect(server.url, { retry: fast });
    await expect(client.done).resolves.toBeUndefined();
    expect(client.state).toBe('closed');
  });

  it('treats a POST that is not resumable as finished when its response ends', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res) => {
        sseHead(res);
        res.end('data: 1\n\n');
      }),
    );
    await connect(server.url, { body: '{}', retry: fast }).done;
    expect(server.requests).toHaveLength(1);
  });

  it('reports a POST that is not resumable and drops as SSE_CLIENT_CONNECTION_LOST, without sending the body again', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res) => {
        sseHead(res);
        res.write('data: 1\n\n');
        setTimeout(() => res.destroy(), 20);
      }),
    );
    const client = connect(server.url, { body: '{}', retry: fast });
    await expect(client.done).rejects.toMatchObject({ code: 'SSE_CLIENT_CONNECTION_LOST' });
    expect(server.requests).toHaveLength(1);
  });
});
