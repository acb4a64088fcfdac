import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type ChildRpc, startChild } from '../support/child.js';
import { openEventSource, type RecordingEventSource } from '../support/clients.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep } from '../support/wait.js';

// Issue 10 bug 5: following the docs' shutdown (server.close(), then hub.close()) a process took ~5.8 s to exit: the
// ended streams sat as idle keep-alive sockets until the server's keepAliveTimeout. An SSE response now closes its
// connection when it ends, so a process with open streams exits promptly, whichever order it closes things in.

const teardown = closeAfterEach();
const CLIENTS = 5;
const GIVE_UP_MS = 8000;
const EXPRESS = new URL('../../packages/express/test/fixtures/shutdown-app.ts', import.meta.url);
const FASTIFY = new URL('../../packages/fastify/test/fixtures/shutdown-app.ts', import.meta.url);
const APPS: Record<string, { script: URL; env: Record<string, string> }> = {
  'Express 5': { script: EXPRESS, env: { SHUTDOWN_EXPRESS: '5' } },
  'Express 4': { script: EXPRESS, env: { SHUTDOWN_EXPRESS: '4' } },
  Fastify: { script: FASTIFY, env: {} },
};

async function exitTimeAfterSigterm(adapter: string, order: 'documented' | 'reversed'): Promise<number> {
  const app = APPS[adapter] as (typeof APPS)[string];
  const child: ChildRpc = await startChild(app.script, { env: { ...app.env, SHUTDOWN_ORDER: order } });
  teardown.defer(() => child.stop());
  const port = await child.call<number>('port');
  const clients: RecordingEventSource[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(teardown.track(openEventSource(`http://127.0.0.1:${port}/events`)));
  // Each stream has sent its first event: the connections are open and streaming.
  for (const client of clients) await client.waitForEvents(1, 10_000);
  const exited = once(child.process, 'exit');
  const start = performance.now();
  child.process.kill('SIGTERM');
  // Bounded, so a process that hangs fails with how long it took rather than with the test's timeout.
  const result = await Promise.race([exited, sleep(GIVE_UP_MS)]);
  const elapsed = performance.now() - start;
  if (result === undefined) return elapsed;
  expect(child.exitCode(), child.stderr()).toBe(0);
  return elapsed;
}

describe.each(Object.keys(APPS))('%s: a process with open streams', (adapter) => {
  it('exits within 1 s of SIGTERM when it shuts down as the docs say', async () => {
    expect(await exitTimeAfterSigterm(adapter, 'documented')).toBeLessThan(1000);
  });

  it('exits within 1 s of SIGTERM in the other order too (Fastify: app.close() alone)', async () => {
    expect(await exitTimeAfterSigterm(adapter, 'reversed')).toBeLessThan(1000);
  });
});
