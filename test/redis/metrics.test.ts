import { createHub } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { captureLogger, recordingLogger } from '../support/logger.js';
import { recordMetrics } from '../support/metrics.js';
import { redisForSuite, restartableRedisRequirement, uniqueKey } from '../support/redis.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const requirement = restartableRedisRequirement();

describe.skipIf(requirement.skip)('metrics of a hub on the Redis broker', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  it('records how long Redis took to accept each event, and counts the events it refused while down', async () => {
    const recorded = teardown.track(recordMetrics());
    const broker = createRedisBroker({ url: redis.url }, { key: uniqueKey('metrics'), logger: recordingLogger() });
    const hub = teardown.track(
      createHub({ name: 'redis', broker, meterProvider: recorded.provider, logger: captureLogger() }),
    );
    await hub.ready();
    await hub.broadcast('one');
    await hub.publish('news', 'two');

    let collected = await recorded.collect();
    const accepted = collected.histogram('ssekit.publish.duration', {
      'ssekit.hub': 'redis',
      'ssekit.target.type': 'all',
    });
    expect(accepted?.count).toBe(1);
    expect(accepted?.sum).toBeGreaterThan(0);
    expect(
      collected.histogram('ssekit.publish.duration', { 'ssekit.hub': 'redis', 'ssekit.target.type': 'topic' })?.count,
    ).toBe(1);

    await redis.kill();
    try {
      await waitFor(() => !broker.connected, 'the broker to notice', 10_000);
      await expect(hub.broadcast('lost')).rejects.toMatchObject({ code: 'SSE_BROKER_UNAVAILABLE' });
    } finally {
      await redis.restart();
    }
    collected = await recorded.collect();
    expect(collected.sum('ssekit.publish.failures', { 'ssekit.hub': 'redis' })).toBe(1);
    expect(
      collected.histogram('ssekit.publish.duration', {
        'ssekit.hub': 'redis',
        'ssekit.target.type': 'all',
        'error.type': 'SSE_BROKER_UNAVAILABLE',
      })?.count,
    ).toBe(1);
  });
});
