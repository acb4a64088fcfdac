import { createHub, type Hub } from '@ssekit/core';

/** History kept for `Last-Event-ID` resume by the in-memory hub: minutes of the demo's feeds. */
const MEMORY_HISTORY = { size: 5000 } as const;

/** The Redis stream the demo's instances share: its own, so the demo never mixes with an app on the same Redis. */
export const DEMO_REDIS_KEY = 'ssekit-demo:events';

/**
 * The demo's hub: in memory by default (nothing else to run), on the Redis broker when `redisUrl` is given, so that
 * several instances act as one hub. The Redis client is loaded only then.
 */
export async function createDemoHub(
  redisUrl: string | undefined,
  key = DEMO_REDIS_KEY,
): Promise<{ hub: Hub; broker: 'memory' | 'redis' }> {
  if (redisUrl === undefined || redisUrl === '') {
    return { hub: createHub({ history: MEMORY_HISTORY }), broker: 'memory' };
  }
  const { createRedisBroker } = await import('@ssekit/redis');
  const hub = createHub({ broker: createRedisBroker({ url: redisUrl }, { key }) });
  await hub.ready();
  return { hub, broker: 'redis' };
}
