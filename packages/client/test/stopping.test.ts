import { getEventListeners } from 'node:events';
import { connect } from '@ssekit/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveRecorded, sseHead } from '../../../test/support/recording-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { type TimerWatch, watchTimers } from '../../../test/support/timers.js';
import { waitFor } from '../../../test/support/wait.js';

// However a client stops, it stops for good: the request is aborted, no reconnect timer, no idle timer and no abort
// listener is left behind.

const teardown = closeAfterEach();
let timers: TimerWatch;
beforeEach(() => {
  timers = watchTimers('packages/client/src');
});
afterEach(() => timers.stop());

/** A server that opens a stream, sends one event and keeps it open; it records when each response closes. */
async function openStreamServer() {
  const closedResponses: number[] = [];
  const server = teardown.track(
    await serveRecorded((_req, res, index) => {
      sseHead(res);
      res.write('id: 1\ndata: 1\n\n');
      res.on('close', () => closedResponses.push(index));
    }),
  );
  return { server, closedResponses };
}

function expectNothingLeft(signal?: AbortSignal): void {
  expect(timers.pending, 'pending client timers').toBe(0);
  if (signal !== undefined) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
}

describe('stopping a client', () => {
  it('aborts the open request when the signal aborts, and settles done', async () => {
    const { server, closedResponses } = await openStreamServer();
    const controller = new AbortController();
    const client = connect(server.url, { signal: controller.signal, idleTimeout: 60_000 });
    await new Promise<void>((resolve) => client.on('message', () => resolve()));
    expect(timers.pending).toBe(1);
    controller.abort();
    await expect(client.done).resolves.toBeUndefined();
    await waitFor(() => closedResponses.length === 1, 'the server to see the request go');
    expect(client.state).toBe('closed');
    expectNothingLeft(controller.signal);
  });

  it('clears the reconnect timer when the signal aborts while it waits', async () => {
    const server = teardown.track(await serveRecorded((_req, res) => res.writeHead(503).end()));
    const controller = new AbortController();
    const client = connect(server.url, { signal: controller.signal, retry: { initialDelay: 60_000 } });
    await waitFor(() => timers.pending === 1, 'the reconnect timer');
    controller.abort();
    await client.done;
    expectNothingLeft(controller.signal);
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing when the signal is aborted already', async () => {
    const server = teardown.track(await serveRecorded((_req, res) => res.writeHead(503).end()));
    const client = connect(server.url, { signal: AbortSignal.abort() });
    await client.done;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.requests).toHaveLength(0);
  });

  it('cancels the request when a for-await loop breaks', async () => {
    const { server, closedResponses } = await openStreamServer();
    const controller = new AbortController();
    const client = connect(server.url, { signal: controller.signal });
    for await (const event of client) {
      expect(event.data).toBe(1);
      break;
    }
    await waitFor(() => closedResponses.length === 1, 'the server to see the request go');
    expect(client.state).toBe('closed');
    expectNothingLeft(controller.signal);
  });

  it('ends a for-await loop when close() is called', async () => {
    const { server } = await openStreamServer();
    const client = connect(server.url);
    const received: unknown[] = [];
    for await (const event of client) {
      received.push(event.data);
      client.close();
    }
    expect(received).toEqual([1]);
    expectNothingLeft();
  });

  it('leaves nothing behind after a terminal event or an error', async () => {
    const server = teardown.track(
      await serveRecorded((_req, res, index) => {
        if (index === 1) return void res.writeHead(404).end();
        sseHead(res);
        res.end('event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const controller = new AbortController();
    await connect(server.url, { signal: controller.signal, idleTimeout: 60_000 }).done;
    await expect(connect(server.url, { signal: controller.signal }).done).rejects.toMatchObject({ status: 404 });
    expectNothingLeft(controller.signal);
  });

  it('delivers every event to a for-await loop that starts late, past the 1,024 events it holds', async () => {
    const count = 3000;
    let written = false;
    const server = teardown.track(
      await serveRecorded((_req, res) => {
        sseHead(res);
        const frames = Array.from({ length: count }, (_, i) => `data: ${i}\n\n`).join('');
        res.write(frames, () => (written = true));
        res.end('event: ssekit-done\ndata: {}\n\n');
      }),
    );
    const client = connect(server.url);
    const iterator = client[Symbol.asyncIterator]();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seen: unknown[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) seen.push(next.value.data);
    expect(written).toBe(true);
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
  });
});
