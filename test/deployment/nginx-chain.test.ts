import { describe, expect, it } from 'vitest';
import { appTracker, frameworkAdapters } from '../adapters/harness.js';
import { proxyRequirement, startNginx } from '../support/proxies.js';
import { freePort } from '../support/server.js';
import { closeAfterEach } from '../support/teardown.js';
import { type TimedStream, timedSse } from '../support/tls-clients.js';
import { sleep, waitFor } from '../support/wait.js';
import { docConfig, fill, withoutLine } from './doc-configs.js';
import { nginxBlock, testCertificate } from './fronts.js';
import { broadcastNumbered, latencies, MAX_LATENCY_MS, numbers, range, TIMED } from './scenarios.js';

// nginx in front of nginx in front of the app: the inner hop consumes X-Accel-Buffering, so the outer one buffers
// unless the page's fix is in place on one of the hops.

const teardown = closeAfterEach();
const apps = appTracker(teardown);
const PASS_HEADER = 'proxy_pass_header X-Accel-Buffering;';
const BUFFERING_OFF = 'proxy_buffering off;';

/** The page's outer `location` (or a variant) in a server block of its own, forwarding to the inner nginx. */
function outerServer(location: string, port: number, innerPort: number): string {
  const cert = testCertificate();
  const body = fill(location, [['https://app-nginx', `https://127.0.0.1:${innerPort}`]]);
  return `server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate     ${cert.certFile};
    ssl_certificate_key ${cert.keyFile};
${body}
}
`;
}

/** app ← inner nginx (the page's block, or `inner`) ← outer nginx (`outer`): the client's stream on the outer one. */
async function chain(adapter: (typeof frameworkAdapters)[number], inner: string, outer: string) {
  const app = await apps.start(adapter, { routes: [{ path: '/events', sse: {} }] });
  const innerPort = await freePort();
  const innerProxy = await startNginx(nginxBlock(new URL(app.url).host, innerPort, { config: inner }), [innerPort]);
  teardown.defer(() => innerProxy.close());
  const outerPort = await freePort();
  const outerProxy = await startNginx(outerServer(outer, outerPort, innerPort), [outerPort]);
  teardown.defer(() => outerProxy.close());
  let stream: TimedStream | undefined;
  void timedSse(`https://127.0.0.1:${outerPort}/events`)
    .then((opened) => (stream = teardown.track(opened)))
    // It may never get a head (a buffering proxy); killing the proxy ends it.
    .catch(() => undefined);
  await waitFor(() => app.hub.stats().connections === 1, 'the app to hold the stream');
  await broadcastNumbered(app, 10, 30);
  return { received: () => stream };
}

describe.skipIf(proxyRequirement('nginx').skip).each(frameworkAdapters)('nginx in front of nginx, $name', (adapter) => {
  it("streams event by event when the inner hop passes X-Accel-Buffering on (the page's block)", TIMED, async () => {
    const { received } = await chain(adapter, docConfig('nginx'), withoutLine(docConfig('nginx-outer'), BUFFERING_OFF));
    await waitFor(() => (received()?.events.length ?? 0) >= 10, '10 events through both hops');
    const stream = received() as TimedStream;
    expect(numbers(stream.events)).toEqual(range(1, 10));
    expect(Math.max(...latencies(stream))).toBeLessThan(MAX_LATENCY_MS);
  });

  it("streams event by event when the outer hop turns buffering off (the page's outer block)", TIMED, async () => {
    const { received } = await chain(adapter, withoutLine(docConfig('nginx'), PASS_HEADER), docConfig('nginx-outer'));
    await waitFor(() => (received()?.events.length ?? 0) >= 10, '10 events through both hops');
    const stream = received() as TimedStream;
    expect(numbers(stream.events)).toEqual(range(1, 10));
    expect(Math.max(...latencies(stream))).toBeLessThan(MAX_LATENCY_MS);
  });

  it('buffers the stream at the outer hop without either fix: nothing gets through, not even the head', async () => {
    const { received } = await chain(
      adapter,
      withoutLine(docConfig('nginx'), PASS_HEADER),
      withoutLine(docConfig('nginx-outer'), BUFFERING_OFF),
    );
    await sleep(1500);
    // Not even the response head reached the client.
    expect(received()).toBeUndefined();
  });
});
