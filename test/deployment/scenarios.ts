import type { ConnectOptions } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { appTracker, frameworkAdapters, type TestApp, type TestRequest } from '../adapters/harness.js';
import type { RunningProxy } from '../support/proxies.js';
import { closeAfterEach, type Teardown } from '../support/teardown.js';
import { http2Stream, openInsecureEventSource, type TimedStream, timedSse } from '../support/tls-clients.js';
import { sleep, waitFor } from '../support/wait.js';

// What every proxy config of docs/deployment.md must do for both adapters: pass each event on at once, survive its
// own idle timeout thanks to the heartbeat, let a cut stream resume with nothing lost, carry many clients, and serve
// HTTP/2 to the browser. Counts and waits are bounded: a proxy's file runs in 15 to 35 s on a loaded 2-core machine.

/** The short idle timeout the tests put in place of the config's own (so a test waits seconds, not minutes). */
export const SHORT_TIMEOUT_MS = 2000;
/** A heartbeat well under {@link SHORT_TIMEOUT_MS}, allowing for the hub clock's quarter-period slack. */
const SHORT_HEARTBEAT_MS = 700;
/** The heartbeat of a route that sends nothing else, when a test waits for its first byte. */
const HEAD_HELD_HEARTBEAT_MS = 1000;
/** How late an event may arrive through the proxy. */
export const MAX_LATENCY_MS = 100;
/**
 * For tests that time events: one more try, because a loaded 2-core machine can stall any of the three processes
 * (test, app, proxy) for 100 ms at random. A proxy that holds events back fails both tries.
 */
export const TIMED = { retry: 1 };

export interface ProxyInFront {
  /** https://127.0.0.1:port of the proxy. */
  url: string;
  proxy: RunningProxy;
}

/** How to put one of the page's configs in front of an app. */
export interface ProxySetup {
  /** The proxy's name in test titles. */
  name: string;
  /**
   * Starts the proxy with the page's config, forwarding to `upstream` (`127.0.0.1:port`); with `shortTimeout` the
   * config's idle timeouts are set to {@link SHORT_TIMEOUT_MS}.
   */
  start(upstream: string, options: { shortTimeout?: boolean }): Promise<ProxyInFront>;
  /** Whether the config has an idle timeout on the upstream's response, which cuts a stream without heartbeats. */
  cutsQuietStreams: boolean;
  /** Whether, over HTTP/2, the proxy sends the response head only with the first byte of the body. */
  holdsHttp2HeadUntilBody: boolean;
}

/** An app of `adapter` with one SSE route `/events` of `options`, and the proxy in front of it. */
export async function behind(
  teardown: Teardown,
  setup: ProxySetup,
  adapter: (typeof frameworkAdapters)[number],
  sse: Omit<ConnectOptions<TestRequest>, 'hub'> = {},
  options: { shortTimeout?: boolean } = {},
): Promise<{ app: TestApp; front: ProxyInFront }> {
  const app = await appTracker(teardown).start(adapter, { routes: [{ path: '/events', sse }] });
  const front = await setup.start(new URL(app.url).host, options);
  teardown.defer(() => front.proxy.close());
  return { app, front };
}

/**
 * Broadcasts `{ n, sent }` for n = from..from+count-1, `spacing` ms apart; the client computes latency from `sent`.
 * With `pad`, each event carries that many more bytes.
 */
export async function broadcastNumbered(
  app: TestApp,
  count: number,
  spacing: number,
  from = 1,
  pad = 0,
): Promise<void> {
  for (let n = from; n < from + count; n++) {
    await app.hub.broadcast(pad > 0 ? { n, sent: Date.now(), pad: 'x'.repeat(pad) } : { n, sent: Date.now() });
    if (spacing > 0) await sleep(spacing);
  }
}

/** Arrival minus send time of each event, in ms. */
export function latencies(stream: TimedStream): number[] {
  return stream.events.map((event) => event.at - (JSON.parse(event.data) as { sent: number }).sent);
}

export function numbers(events: { data: string }[]): number[] {
  return events.map((event) => (JSON.parse(event.data) as { n: number }).n);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Opens a stream through the proxy and waits until the app holds `connections` of them. */
export async function openThrough(
  teardown: Teardown,
  app: TestApp,
  front: ProxyInFront,
  connections = 1,
): Promise<TimedStream> {
  const stream = teardown.track(await timedSse(`${front.url}/events`));
  expect(stream.status, `status through the proxy; its log:\n${front.proxy.logs()}`).toBe(200);
  await waitFor(() => app.hub.stats().connections >= connections, 'the app to hold the stream');
  return stream;
}

/** Registers the deployment scenarios of `setup` for Express and Fastify. */
export function describeDeployment(setup: ProxySetup): void {
  const teardown = closeAfterEach();

  describe.each(frameworkAdapters)(`${setup.name} in front of $name`, (adapter) => {
    it(`delivers each event within ${MAX_LATENCY_MS} ms of its send`, TIMED, async () => {
      const { app, front } = await behind(teardown, setup, adapter);
      const stream = await openThrough(teardown, app, front);
      await broadcastNumbered(app, 20, 30);
      await stream.waitForEvents(20);
      expect(numbers(stream.events)).toEqual(range(1, 20));
      expect(Math.max(...latencies(stream)), `latencies ${latencies(stream).join(', ')} ms`).toBeLessThan(
        MAX_LATENCY_MS,
      );
    });

    it('keeps a stream open past its idle timeout, with a heartbeat shorter than the timeout', async () => {
      const { app, front } = await behind(
        teardown,
        setup,
        adapter,
        { heartbeat: SHORT_HEARTBEAT_MS },
        { shortTimeout: true },
      );
      const stream = await openThrough(teardown, app, front);
      await sleep(SHORT_TIMEOUT_MS * 1.5);
      expect(stream.ended).toBe(false);
      expect(stream.comments.length).toBeGreaterThanOrEqual(2);
      await broadcastNumbered(app, 1, 0);
      await stream.waitForEvents(1);
      expect(app.hub.stats().connections).toBe(1);
    });

    if (setup.cutsQuietStreams) {
      it('cuts a stream without heartbeats at its idle timeout with a reset, not a clean end', async () => {
        const { app, front } = await behind(teardown, setup, adapter, { heartbeat: false }, { shortTimeout: true });
        const stream = await openThrough(teardown, app, front);
        await stream.waitForEnd(SHORT_TIMEOUT_MS * 2);
        // A clean end would be the last chunk of a chunked body; the proxy closes the connection without it.
        expect(stream.endedCleanly).toBe(false);
      });
    }

    it('resumes a cut stream with nothing lost (the eventsource client, Last-Event-ID through the proxy)', async () => {
      const { app, front } = await behind(teardown, setup, adapter, { retry: 100 });
      const client = teardown.track(openInsecureEventSource(`${front.url}/events`));
      await client.waitForOpen();
      await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
      await broadcastNumbered(app, 10, 5);
      await client.waitForEvents(10);
      // Cut the proxy's connection to the app, as a crashed app instance or a network drop would.
      app.sockets.destroyAll();
      await broadcastNumbered(app, 10, 5, 11);
      await client.waitForOpen(2);
      await broadcastNumbered(app, 10, 5, 21);
      await client.waitForEvents(30);
      expect(numbers(client.events)).toEqual(range(1, 30));
      expect(app.hub.stats().replayed).toBeGreaterThan(0);
    });

    it('carries 50 clients × 100 events, each complete and in order', async () => {
      const { app, front } = await behind(teardown, setup, adapter);
      const streams = await Promise.all(Array.from({ length: 50 }, () => timedSse(`${front.url}/events`)));
      for (const stream of streams) teardown.track(stream);
      await waitFor(() => app.hub.stats().connections === 50, '50 streams at the app');
      await broadcastNumbered(app, 100, 0);
      await waitFor(
        () => streams.every((stream) => stream.events.length >= 100),
        `100 events on each stream (least: ${Math.min(...streams.map((s) => s.events.length))})`,
        15_000,
      );
      for (const stream of streams) expect(numbers(stream.events)).toEqual(range(1, 100));
    });

    it(
      'serves the stream to an HTTP/2 client, opened at once when the app sends `retry` at connect',
      TIMED,
      async () => {
        const { app, front } = await behind(teardown, setup, adapter, { retry: 3000 });
        const opening = Date.now();
        const stream = teardown.track(await http2Stream(front.url, '/events'));
        expect(Date.now() - opening).toBeLessThan(1000);
        expect(stream.protocol).toBe('h2');
        expect(stream.status).toBe(200);
        expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
        await broadcastNumbered(app, 5, 20);
        await stream.waitForEvents(5);
        expect(numbers(stream.events)).toEqual(range(1, 5));
        expect(Math.max(...latencies(stream))).toBeLessThan(MAX_LATENCY_MS);
      },
    );

    if (setup.holdsHttp2HeadUntilBody) {
      it('over HTTP/2, holds the response head until the first body byte (here the first heartbeat)', async () => {
        const { front } = await behind(teardown, setup, adapter, { heartbeat: HEAD_HELD_HEARTBEAT_MS });
        const opening = Date.now();
        const stream = teardown.track(await http2Stream(front.url, '/events'));
        expect(Date.now() - opening).toBeGreaterThanOrEqual(HEAD_HELD_HEARTBEAT_MS * 0.9);
        expect(stream.status).toBe(200);
      });
    }
  });
}
