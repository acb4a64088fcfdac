import type { Logger } from '@ssekit/core';
import type { ConnectionHooks } from './connection.js';

/**
 * What the broker logs when its `role` connection (`publish`, `reader`, or a partition's reader) for the stream
 * `key` goes down and comes back: what it means for the app, and how long it lasted.
 */
export function connectionHooks(logger: Logger, key: string, role: string): ConnectionHooks {
  const consequence =
    role === 'publish'
      ? 'send/publish/broadcast reject with SSE_BROKER_UNAVAILABLE until it is back'
      : 'local connections stay open and catch up from the stream when it is back';
  return {
    down: (error) =>
      logger.error(
        `[ssekit] the Redis ${role} connection for ${key} is down; reconnecting in the background (${consequence}).`,
        error,
      ),
    up: (downFor) => {
      if (downFor !== undefined) {
        logger.warn(`[ssekit] the Redis ${role} connection for ${key} is back after ${downFor} ms.`);
      }
    },
  };
}
