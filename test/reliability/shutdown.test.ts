import type http from 'node:http';
import { createHub, type Hub } from '@ssekit/core';
import { openConnection, type ResolvedConnectOptions, resolveConnectOptions } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { openEventSource, type RecordingEventSource, rawSse } from '../support/clients.js';
import { report } from '../support/report.js';
import { type StreamServer, serveStreams } from '../support/stream-server.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

// A deploy restarts instances one by one; every client of the stopping instance reconnects. Without jitter they all
// come back within the same few milliseconds (a thundering herd on the next instance); `hub.close({ retry, jitter })`
// gives each client its own delay in retry … retry + jitter.

const CLIENTS = 40;

interface Instance {
  server: StreamServer;
  /** When each request arrived (ms, Date.now()). */
  arrivals: number[];
  hub(): Hub;
  /** Starts serving with a fresh hub, as the instance that takes over would. */
  replaceHub(): void;
}

const teardown = closeAfterEach();

async function instance(): Promise<Instance> {
  let hub = createHub();
  let route: ResolvedConnectOptions<http.IncomingMessage> = resolveConnectOptions({ hub, heartbeat: false });
  const arrivals: number[] = [];
  const server = await serveStreams((req, res) => {
    arrivals.push(Date.now());
    return openConnection(hub, route, req, req, res);
  });
  teardown.defer(() => server.close());
  teardown.defer(() => hub.close());
  return {
    server,
    arrivals,
    hub: () => hub,
    replaceHub() {
      hub = createHub();
      route = resolveConnectOptions({ hub, heartbeat: false });
    },
  };
}

function spread(times: number[], since: number) {
  const relative = times.map((t) => t - since).sort((a, b) => a - b);
  const buckets = new Map<number, number>();
  for (const t of relative) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1);
  return {
    first: relative[0] as number,
    median: relative[Math.floor(relative.length / 2)] as number,
    last: relative[relative.length - 1] as number,
    spreadMs: (relative[relative.length - 1] as number) - (relative[0] as number),
    busiest100ms: Math.max(...buckets.values()),
  };
}

/** Connects CLIENTS EventSources, closes the hub with `options`, and measures when they come back. */
async function reconnectTimes(options: { retry: number; jitter?: number }) {
  const app = await instance();
  const clients: RecordingEventSource[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(openEventSource(`${app.server.url}/`));
  teardown.defer(() => {
    for (const client of clients) client.close();
  });
  await waitFor(() => app.hub().size === CLIENTS, `${CLIENTS} connections`, 10_000);
  const before = app.arrivals.length;
  const closedAt = Date.now();
  const closing = app.hub().close(options);
  app.replaceHub();
  await closing;
  await waitFor(
    () => app.arrivals.length >= before + CLIENTS && app.hub().size === CLIENTS,
    `${CLIENTS} reconnections`,
    15_000,
  );
  return spread(app.arrivals.slice(before), closedAt);
}

describe('graceful shutdown with jittered retry', () => {
  it('each client gets its own retry hint in retry … retry + jitter', async () => {
    const app = await instance();
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => rawSse(`${app.server.url}/`)));
    teardown.defer(() => {
      for (const client of clients) client.close();
    });
    await waitFor(() => app.hub().size === CLIENTS, `${CLIENTS} connections`);
    await app.hub().close({ retry: 1000, jitter: 1000 });
    for (const client of clients) await client.waitForEnd();
    const hints = clients.map((client) => client.retries.at(-1) as number);
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...hints)).toBeLessThanOrEqual(2000);
    expect(new Set(hints).size).toBeGreaterThan(CLIENTS / 2);
    expect(app.hub().stats().closed.shutdown).toBe(CLIENTS);
  });

  it('EventSource clients of a closing hub come back spread over the jitter window, not all at once', async () => {
    const herd = await reconnectTimes({ retry: 500 });
    const spreadOut = await reconnectTimes({ retry: 500, jitter: 2000 });
    // Without jitter every client waits the same 500 ms; with it, the same clients arrive over about two seconds.
    expect(spreadOut.first).toBeGreaterThanOrEqual(450);
    expect(spreadOut.last).toBeLessThanOrEqual(2500 + 2000);
    expect(spreadOut.spreadMs).toBeGreaterThanOrEqual(1000);
    expect(spreadOut.busiest100ms).toBeLessThan(herd.busiest100ms);
    report(`shutdown: ${CLIENTS} EventSource reconnections after hub.close()`, {
      withoutJitter: { retry: 500, ...herd },
      withJitter: { retry: 500, jitter: 2000, ...spreadOut },
    });
  }, 60_000);
});
