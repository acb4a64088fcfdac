import { describe, expect, it } from 'vitest';
import { appTracker, frameworkAdapters } from '../adapters/harness.js';
import { proxyRequirement, startNginx } from '../support/proxies.js';
import { freePort } from '../support/server.js';
import { closeAfterEach } from '../support/teardown.js';
import { type TimedStream, timedSse } from '../support/tls-clients.js';
import { sleep, waitFor } from '../support/wait.js';
import { docConfig, fill } from './doc-configs.js';
import { caddyInFront, nginxBlock } from './fronts.js';
import { broadcastNumbered, latencies, MAX_LATENCY_MS, numbers, range, TIMED } from './scenarios.js';

// Proxies' compressors and ssekit's `Cache-Control: no-transform`: Caddy's `encode` and nginx's `gzip` both
// ignore it. Events are larger than Caddy's default `minimum_length` (512 bytes), so that its compressor engages.

const EVENT_PADDING = 600;
const teardown = closeAfterEach();
const apps = appTracker(teardown);
const adapter = frameworkAdapters[0]!;

describe.skipIf(proxyRequirement('caddy').skip)('Caddy encode', () => {
  it(
    "with a match that leaves text/event-stream out (the page's config), passes large events at once",
    TIMED,
    async () => {
      // `retry` at connect: Caddy's encode holds the response head until the first body byte, even when the match
      // then leaves the response alone.
      const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { retry: 3000 } }] });
      const front = await caddyInFront(docConfig('caddy-encode'), new URL(app.url).host);
      teardown.defer(() => front.proxy.close());
      const stream = teardown.track(await timedSse(`${front.url}/events`, { 'accept-encoding': 'gzip' }));
      await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
      await broadcastNumbered(app, 10, 30, 1, EVENT_PADDING);
      await stream.waitForEvents(10);
      expect(stream.headers['content-encoding']).toBeUndefined();
      expect(Math.max(...latencies(stream))).toBeLessThan(MAX_LATENCY_MS);
    },
  );

  it('holds the response head until the first body byte, even for a stream its match leaves alone', async () => {
    const heartbeat = 1000;
    const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { heartbeat } }] });
    const front = await caddyInFront(docConfig('caddy-encode'), new URL(app.url).host);
    teardown.defer(() => front.proxy.close());
    const opening = Date.now();
    const stream = teardown.track(await timedSse(`${front.url}/events`, { 'accept-encoding': 'gzip' }));
    expect(Date.now() - opening).toBeGreaterThanOrEqual(heartbeat * 0.9);
    expect(stream.headers['content-encoding']).toBeUndefined();
  });

  it('without the match, gzips the stream in spite of no-transform and holds every event back', async () => {
    const plain = docConfig('caddy-encode').replace(/encode zstd gzip \{[\s\S]*?\n {4}\}\n/, 'encode zstd gzip\n');
    expect(plain).not.toContain('match');
    const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { heartbeat: false } }] });
    const front = await caddyInFront(plain, new URL(app.url).host);
    teardown.defer(() => front.proxy.close());
    let stream: TimedStream | undefined;
    void timedSse(`${front.url}/events`, { 'accept-encoding': 'gzip' })
      .then((s) => (stream = teardown.track(s)))
      // It may never get a head (a buffering proxy); killing the proxy ends it.
      .catch(() => undefined);
    await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
    await broadcastNumbered(app, 10, 30, 1, EVENT_PADDING);
    await sleep(1500);
    expect(stream?.headers['content-encoding']).toBe('gzip');
    expect(stream?.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream?.events).toHaveLength(0);
  });
});

describe.skipIf(proxyRequirement('nginx').skip)('nginx gzip', () => {
  it(
    'gzips the stream in spite of no-transform when gzip_types includes it, but flushes every event',
    TIMED,
    async () => {
      const app = await apps.start(adapter, { routes: [{ path: '/events', sse: {} }] });
      const port = await freePort();
      const config = fill(docConfig('nginx'), [['gzip off;', 'gzip on;\n        gzip_types text/event-stream;']]);
      const proxy = await startNginx(nginxBlock(new URL(app.url).host, port, { config }), [port]);
      teardown.defer(() => proxy.close());
      const stream = teardown.track(await timedSse(`https://127.0.0.1:${port}/events`, { 'accept-encoding': 'gzip' }));
      await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
      await broadcastNumbered(app, 10, 30, 1, EVENT_PADDING);
      await stream.waitForEvents(10);
      expect(stream.headers['content-encoding']).toBe('gzip');
      expect(numbers(stream.events)).toEqual(range(1, 10));
      expect(Math.max(...latencies(stream))).toBeLessThan(MAX_LATENCY_MS);
    },
  );
});
