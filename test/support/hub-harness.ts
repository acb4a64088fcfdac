import { createHub, type Hub, type HubOptions } from '@ssekit/core';
import { beforeEach } from 'vitest';
import { type RawSse, rawSse } from './clients.js';
import { captureLogger } from './logger.js';
import { type StreamServer, serveHub } from './stream-server.js';
import { closeAfterEach } from './teardown.js';
import { waitFor } from './wait.js';

/*
 * The setup the hub specs of @ssekit/core share (packages/core/test: hub, registry, delivery, lane, limits, resume,
 * control): one hub and one server per test, closed after it. Importing this module registers the hooks in the
 * importing test file.
 */

/** The logger the hub of `start()` reports to; cleared after each test. */
export const quiet = captureLogger();
/** The hub of the current test (from `start()` or `useHub()`). */
export let hub: Hub | undefined;
/** The server of the current test (from `start()` or `useServer()`). */
export let server: StreamServer | undefined;

beforeEach(() => {
  quiet.clear();
});

/** Closes what a test opened, newest first: its clients, then its server, then its hub. */
export const teardown = closeAfterEach();

/** Makes `created` the current test's hub, closed after the test. */
export function useHub(created: Hub): Hub {
  hub = created;
  teardown.defer(async () => {
    await created.close();
    if (hub === created) hub = undefined;
  });
  return created;
}

/** Makes `running` the current test's server, closed after the test. */
export function useServer(running: StreamServer): StreamServer {
  server = running;
  teardown.defer(async () => {
    await running.close();
    if (server === running) server = undefined;
  });
  return running;
}

/** A hub served like the adapters serve it; see `serveHub` for the URL conventions. */
export async function start(options: HubOptions = {}, streamOptions: Parameters<typeof serveHub>[1] = {}) {
  const started = useHub(createHub({ logger: quiet, ...options }));
  const running = useServer(await serveHub(started, streamOptions));
  return { hub: started, server: running };
}

/** Opens a raw client (eventsource-parser, exact bytes) on `query` and waits until the hub registered it. */
export async function client(query = '', headers: Record<string, string> = {}): Promise<RawSse> {
  const before = hub!.size;
  const raw = await rawSse(`${server!.url}/${query}`, headers);
  teardown.track(raw);
  if (raw.status === 200) await waitFor(() => hub!.size > before || raw.ended, 'the hub to register the client');
  return raw;
}

/** The data of every event a raw client received. */
export function data(raw: RawSse): string[] {
  return raw.events.map((event) => event.data);
}

/** The counter of a memory-broker id (`<prefix>-<n>`), to compare ids by order. */
export function counter(id: string | undefined): number {
  return Number(id?.slice(id.lastIndexOf('-') + 1));
}
