import { describe, expect, it } from 'vitest';
import { type Adapter, appTracker, frameworkAdapters } from '../adapters/harness.js';
import { proxyRequirement } from '../support/proxies.js';
import { closeAfterEach } from '../support/teardown.js';
import { timedSse } from '../support/tls-clients.js';
import { waitFor } from '../support/wait.js';
import { docConfig, withoutLine } from './doc-configs.js';
import { haproxyInFront } from './fronts.js';
import {
  broadcastNumbered,
  describeDeployment,
  latencies,
  MAX_LATENCY_MS,
  numbers,
  range,
  TIMED,
} from './scenarios.js';

// docs/deployment.md's HAProxy config, run by Debian's HAProxy in front of Express and Fastify.

const { skip } = proxyRequirement('haproxy');

if (!skip) {
  describeDeployment({
    name: 'HAProxy',
    cutsQuietStreams: true,
    holdsHttp2HeadUntilBody: false,
    start: haproxyInFront,
  });
}

describe.skipIf(skip)('HAProxy over cleartext HTTP/1.1 (its `bind :80`)', () => {
  const teardown = closeAfterEach();

  async function latenciesOverCleartext(adapter: Adapter, config: string): Promise<number[]> {
    const app = await appTracker(teardown).start(adapter, { routes: [{ path: '/events', sse: {} }] });
    const front = await haproxyInFront(new URL(app.url).host, { config });
    teardown.defer(() => front.proxy.close());
    const stream = teardown.track(await timedSse(`${front.plainUrl}/events`));
    await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
    await broadcastNumbered(app, 16, 50);
    await stream.waitForEvents(16);
    expect(numbers(stream.events)).toEqual(range(1, 16));
    return latencies(stream);
  }

  it.each(frameworkAdapters)(
    `delivers each event within ${MAX_LATENCY_MS} ms with option http-no-delay ($name)`,
    TIMED,
    async (adapter) => {
      const measured = await latenciesOverCleartext(adapter, docConfig('haproxy'));
      expect(Math.max(...measured), `latencies ${measured.join(', ')} ms`).toBeLessThan(MAX_LATENCY_MS);
    },
  );

  it.each(frameworkAdapters)('holds events back for up to about 200 ms without it ($name)', async (adapter) => {
    const measured = await latenciesOverCleartext(adapter, withoutLine(docConfig('haproxy'), 'option http-no-delay'));
    console.info(`[deployment] HAProxy without http-no-delay, latencies (ms): ${measured.join(', ')}`);
    expect(Math.max(...measured), `latencies ${measured.join(', ')} ms`).toBeGreaterThan(MAX_LATENCY_MS);
  });
});
