import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildRpc, eventually, startChild } from '../support/child.js';
import { openEventSource, type RecordingEventSource } from '../support/clients.js';
import { redisForSuite, restartableRedisRequirement, uniqueKey } from '../support/redis.js';
import { report } from '../support/report.js';
import { waitFor } from '../support/wait.js';

// The Redis broker's own tests (test/redis/faults.test.ts) cover what the broker does when Redis stops and returns.
// This one looks at the whole process, as an operator would: it must stay up, and nothing may escape as an
// unhandled rejection (which, since Node 15, kills a process) while Redis is gone.

interface AppStatus {
  size: number;
  published: { accepted: number; rejected: number; lastAccepted: number; rejectionCodes: Record<string, number> };
  closed: Record<string, number>;
  logged: number;
  unexpected: string[];
}

const CLIENTS = 10;
const requirement = restartableRedisRequirement();

describe.skipIf(requirement.skip)('an app process on the Redis broker while Redis stops and returns', () => {
  const redis = redisForSuite();
  let app: ChildRpc;
  let port: number;
  const clients: RecordingEventSource[] = [];
  const status = () => app.call<AppStatus>('status');

  beforeAll(async () => {
    app = await startChild(new URL('./fixtures/redis-app.ts', import.meta.url));
    ({ port } = await app.call<{ port: number }>('start', { url: redis.url, key: uniqueKey('reliability') }));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await app?.stop();
  });

  it('stays up, lets nothing escape, and delivers again once Redis is back', async () => {
    for (let i = 0; i < CLIENTS; i++) {
      clients.push(openEventSource(`http://127.0.0.1:${port}/events`, { eventTypes: ['ssekit-reset'] }));
    }
    await waitFor(() => clients.every((c) => c.events.length >= 5), 'events before the outage', 15_000);

    const killedAt = Date.now();
    await redis.kill();
    const down = await eventually(status, (s) => s.published.rejected >= 25, 'publishes to fail while Redis is down');
    expect(app.exitCode()).toBeUndefined();
    expect(down.unexpected).toEqual([]);

    const seen = clients.map((c) => c.events.length);
    await redis.restart();
    const restartedAt = Date.now();
    await waitFor(
      () => clients.every((c, i) => c.events.length >= (seen[i] as number) + 5),
      'events after Redis came back',
      30_000,
    );
    const recoveredAfter = Date.now() - restartedAt;

    const after = await status();
    expect(app.exitCode()).toBeUndefined();
    expect(after.unexpected).toEqual([]);
    expect(after.published.accepted).toBeGreaterThan(0);
    const stopped = await app.call<AppStatus>('stop');
    expect(stopped.unexpected).toEqual([]);
    // Whatever happened during the outage, every stream ended once with a reason from the documented set.
    const reasons = Object.keys(stopped.closed);
    expect(reasons.every((r) => ['client', 'error', 'shutdown'].includes(r))).toBe(true);
    report('faults: Redis killed and restarted under an app process', {
      outageMs: restartedAt - killedAt,
      publishesRejectedWhileDown: after.published.rejected,
      rejectionCodes: after.published.rejectionCodes,
      deliveryBackWithinMs: recoveredAfter,
      closedReasons: stopped.closed,
      unexpected: stopped.unexpected.length,
    });
  }, 90_000);
});
