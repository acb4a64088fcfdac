import { createHub, type HubOptions } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { openEventSource, type RecordingEventSource, rawSse } from '../support/clients.js';
import { report } from '../support/report.js';
import { serveHub } from '../support/stream-server.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

// Connection limits protect a process from running out of memory or descriptors. Over a limit, the answer must make
// a browser come back later: EventSource treats any non-200 answer as fatal and never reconnects, so the default
// answer is a 200 with a `retry:` hint and an immediate end. The other answer (`status`) is for clients that handle
// retries themselves, and these tests show why it is not the default. limits-chromium.test.ts shows the same in
// Chromium's own EventSource.

const teardown = closeAfterEach();

async function start(options: HubOptions) {
  const hub = createHub(options);
  const server = teardown.track(await serveHub(hub));
  return { hub, server };
}

function eventSource(url: string): RecordingEventSource {
  return teardown.track(openEventSource(url));
}

describe('maxConnections', () => {
  it('a client over the limit is told to come back, and EventSource does so until a place frees up', async () => {
    const { hub, server } = await start({ maxConnections: 3, limitResponse: { type: 'retry', retry: 200 } });
    const admitted = [1, 2, 3].map(() => eventSource(`${server.url}/`));
    for (const client of admitted) await client.waitForOpen();
    expect(hub.size).toBe(3);

    const first = new Set(hub.streams());

    const waiting = eventSource(`${server.url}/`);
    // Refused several times (each refusal opens, ends, and is followed by a scheduled reconnect), never given up.
    await waitFor(() => waiting.errors.length >= 3, 'three refusals', 10_000);
    expect(waiting.es.readyState).not.toBe(waiting.es.CLOSED);
    expect(hub.size).toBe(3);
    expect(hub.stats().refused).toBeGreaterThanOrEqual(3);

    admitted[0]?.close();
    await waitFor(() => hub.streams().some((s) => !first.has(s)), 'the waiting client to be admitted', 10_000);
    await hub.broadcast('you are in');
    await waiting.waitForEvents(1);
    expect(waiting.events[0]?.data).toBe('you are in');
    expect(hub.size).toBe(3);
    report('limits: maxConnections with the retry answer', {
      refusalsBeforeAdmission: waiting.errors.length,
      refusedTotal: hub.stats().refused,
    });
  });

  it('the retry hint of a refusal is jittered (base … base + 20%), so refused clients do not come back in step', async () => {
    const { server } = await start({ maxConnections: 1, limitResponse: { type: 'retry', retry: 1000 } });
    const holder = await rawSse(`${server.url}/`);
    teardown.track(holder);
    const hints: number[] = [];
    for (let i = 0; i < 40; i++) {
      const refused = await rawSse(`${server.url}/`);
      await refused.waitForEnd();
      expect(refused.status).toBe(200);
      expect(refused.events).toEqual([]);
      hints.push(...refused.retries);
    }
    expect(hints).toHaveLength(40);
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...hints)).toBeLessThanOrEqual(1200);
    expect(new Set(hints).size).toBeGreaterThan(20);
  });

  it('the status answer (503 + Retry-After) makes EventSource give up for good: why it is not the default', async () => {
    const { hub, server } = await start({
      maxConnections: 1,
      limitResponse: { type: 'status', status: 503, retryAfter: 1 },
    });
    const holder = eventSource(`${server.url}/`);
    await holder.waitForOpen();
    const refused = eventSource(`${server.url}/`);
    await waitFor(() => refused.es.readyState === refused.es.CLOSED, 'EventSource to fail', 10_000);
    expect(refused.errors[0]?.code).toBe(503);
    holder.close();
    await waitFor(() => hub.size === 0, 'the holder to leave');
    // A place is free, but this EventSource never tries again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(refused.opens).toBe(0);
    expect(refused.es.readyState).toBe(refused.es.CLOSED);
  });
});

describe('maxConnectionsPerClient', () => {
  it('a client id over its tab limit waits for a tab to close; other client ids get in meanwhile', async () => {
    const { hub, server } = await start({ maxConnectionsPerClient: 2, limitResponse: { type: 'retry', retry: 200 } });
    const tabs = [1, 2].map(() => eventSource(`${server.url}/?client=alice`));
    for (const tab of tabs) await tab.waitForOpen();
    const first = new Set(hub.streams('alice'));
    const third = eventSource(`${server.url}/?client=alice`);
    const bob = eventSource(`${server.url}/?client=bob`);
    await bob.waitForOpen();
    await waitFor(() => third.errors.length >= 2, 'two refusals of the third tab', 10_000);
    expect(third.es.readyState).not.toBe(third.es.CLOSED);
    expect(hub.streams('alice')).toHaveLength(2);

    tabs[1]?.close();
    await waitFor(() => hub.streams('alice').some((s) => !first.has(s)), 'the third tab to be admitted', 10_000);
    expect(hub.streams('alice')).toHaveLength(2);
    await hub.send('alice', 'hello alice');
    await third.waitForEvents(1);
    await tabs[0]?.waitForEvents(1);
    expect(bob.events).toEqual([]);
  });
});
