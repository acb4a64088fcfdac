import type { Hub } from '@ssekit/core';
import { expect } from 'vitest';
import type { RecordingEventSource } from './clients.js';
import { sleep, waitFor } from './wait.js';

/** How a test takes a Redis master down, and knows that its replacement is serving. */
export interface Failover {
  kill(): Promise<void>;
  recovered(): Promise<void>;
}

/**
 * Broadcasts from `publisher` every 20 ms for 8 s, with `failover.kill()` after the first five are accepted; once
 * `failover.recovered()`, broadcasts until one is accepted again. Then checks what a user of the broker is promised
 * through a failover: every accepted broadcast reached `client` or the client was told with the reset event, and
 * every refused broadcast was counted in the hub's stats.
 */
export async function broadcastThroughFailover(
  publisher: Hub,
  client: RecordingEventSource,
  failover: Failover,
): Promise<void> {
  const accepted: string[] = [];
  let refused = 0;
  let i = 0;
  const publishing = (async () => {
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      const data = `e${i++}`;
      try {
        await publisher.broadcast(data);
        accepted.push(data);
      } catch {
        refused++;
      }
      await sleep(20);
    }
  })();
  await waitFor(() => accepted.length >= 5, 'a few broadcasts before the kill', 10_000);
  await failover.kill();
  await publishing;
  await failover.recovered();
  // The broker reconnects with backoff: a broadcast refused meanwhile is counted, as any refusal.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await publisher.broadcast('after');
      break;
    } catch (error) {
      refused++;
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
  await waitFor(() => client.events.some((e) => e.data === 'after'), 'delivery after the failover', 20_000);
  const received = new Set(client.events.map((e) => e.data));
  const missing = accepted.filter((d) => !received.has(d));
  const reset = client.events.some((e) => e.type === 'ssekit-reset');
  expect(missing.length === 0 || reset).toBe(true);
  expect(publisher.stats().failed).toBe(refused);
}
