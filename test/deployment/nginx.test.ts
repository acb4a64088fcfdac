import { describe, expect, it } from 'vitest';
import { appTracker, frameworkAdapters } from '../adapters/harness.js';
import { proxyRequirement, startNginx } from '../support/proxies.js';
import { freePort } from '../support/server.js';
import { closeAfterEach } from '../support/teardown.js';
import { timedSse } from '../support/tls-clients.js';
import { waitFor } from '../support/wait.js';
import { docConfig } from './doc-configs.js';
import { nginxBlock, nginxInFront } from './fronts.js';
import { broadcastNumbered, describeDeployment, numbers, range } from './scenarios.js';

// docs/deployment.md's nginx server block, run by Debian's nginx in front of Express and Fastify.

if (!proxyRequirement('nginx').skip) {
  describeDeployment({
    name: 'nginx',
    cutsQuietStreams: true,
    holdsHttp2HeadUntilBody: true,
    start: nginxInFront,
  });
}

describe.skipIf(proxyRequirement('nginx').skip)('nginx capacity settings', () => {
  const teardown = closeAfterEach();

  it("starts with the page's worker_rlimit_nofile and worker_connections, and streams", async () => {
    const app = await appTracker(teardown).start(frameworkAdapters[0]!, { routes: [{ path: '/events', sse: {} }] });
    const port = await freePort();
    const proxy = await startNginx(nginxBlock(new URL(app.url).host, port), [port], docConfig('nginx-capacity'));
    teardown.defer(() => proxy.close());
    const stream = teardown.track(await timedSse(`https://127.0.0.1:${port}/events`));
    await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
    await broadcastNumbered(app, 3, 10);
    await stream.waitForEvents(3);
    expect(numbers(stream.events)).toEqual(range(1, 3));
  });
});
