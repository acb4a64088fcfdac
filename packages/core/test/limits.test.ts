import { createHub, SseError } from '@ssekit/core';
import { openConnection, resolveConnectOptions } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { checkSseError } from '../../../test/support/errors.js';
import { client, hub, quiet, start, teardown, useHub, useServer } from '../../../test/support/hub-harness.js';
import { serveStreams } from '../../../test/support/stream-server.js';
import { waitFor } from '../../../test/support/wait.js';

describe('connection limits', () => {
  it('maxConnections: one more is answered 200 with a retry hint and ended, so EventSource comes back later', async () => {
    await start({ maxConnections: 2 });
    await client();
    await client();
    const refused = await client();
    await refused.waitForEnd();
    expect(refused.status).toBe(200);
    expect(refused.events).toEqual([]);
    expect(refused.retries).toHaveLength(1);
    // 5 s plus up to a fifth of jitter.
    expect(refused.retries[0]).toBeGreaterThanOrEqual(5000);
    expect(refused.retries[0]).toBeLessThan(6000);
    expect(hub!.size).toBe(2);
    expect(hub!.stats().refused).toBe(1);
  });

  it('maxConnectionsPerClient: a client over its tab limit gets the retry answer; others still get in', async () => {
    await start({ maxConnectionsPerClient: 1, limitResponse: { type: 'retry', retry: 100 } });
    await client('?client=alice');
    const second = await client('?client=alice');
    await second.waitForEnd();
    expect(second.retries[0]).toBeGreaterThanOrEqual(100);
    expect(second.retries[0]).toBeLessThan(120);
    const bob = await client('?client=bob');
    expect(bob.ended).toBe(false);
    expect(hub!.size).toBe(2);
  });

  it('with the status answer, one more gets the HTTP status and Retry-After', async () => {
    await start({ maxConnections: 1, limitResponse: { type: 'status', status: 429, retryAfter: 7 } });
    await client();
    const refused = await client();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('7');
    expect(hub!.stats().refused).toBe(1);
  });

  it('the status answer defaults to 503 with Retry-After: 5', async () => {
    await start({ maxConnectionsPerClient: 1, limitResponse: { type: 'status' } });
    await client('?client=a');
    const refused = await client('?client=a');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
  });

  it('the status answer is thrown as an SseError the framework turns into the response', async () => {
    const hub = useHub(createHub({ logger: quiet, maxConnections: 1, limitResponse: { type: 'status', status: 429 } }));
    const route = resolveConnectOptions({ heartbeat: false });
    const errors: unknown[] = [];
    const server = useServer(
      await serveStreams((req, res) =>
        openConnection(hub!, route, req, req, res).catch((error: unknown) => {
          errors.push(error);
          throw error;
        }),
      ),
    );
    teardown.track(await rawSse(server.url));
    const refused = await rawSse(server.url);
    expect(refused.status).toBe(429);
    checkSseError(errors[0], {
      base: Error,
      type: SseError,
      code: 'SSE_TOO_MANY_CONNECTIONS',
      message: 'Too many SSE connections (max-connections); try again later.',
      statusCode: 429,
    });
    await hub.close();
    const late = await rawSse(server.url);
    expect(late.status).toBe(429);
    checkSseError(errors[1], {
      base: Error,
      type: SseError,
      code: 'SSE_HUB_CLOSED',
      message: 'The server is shutting down; try again shortly.',
      statusCode: 429,
    });
  });

  it('a freed slot is available again', async () => {
    await start({ maxConnections: 1 });
    const first = await client();
    first.close();
    await waitFor(() => hub!.size === 0);
    const second = await client();
    expect(second.ended).toBe(false);
    expect(hub!.size).toBe(1);
  });
});
