import { createHub } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { recordingLogger } from '../../../test/support/logger.js';
import {
  redisCommand,
  redisForSuite,
  redisRequirement,
  startInstance,
  uniqueKey,
} from '../../../test/support/redis.js';

const requirement = redisRequirement();

describe.skipIf(requirement.skip)('a node-redis client as the connection template', () => {
  const redis = redisForSuite();

  it('connects with the settings of the given client, and never uses or closes that client', async () => {
    const template = createClient({ url: redis.url, database: 3 });
    const logger = recordingLogger();
    const key = uniqueKey('template');
    const hub = createHub({ broker: createRedisBroker({ client: template }, { key, logger }), logger });
    const instance = await startInstance('template', hub);
    try {
      const raw = await rawSse(`${instance.url}/events`);
      await hub.broadcast('through the template');
      await raw.waitForEvents(1);
      expect(raw.events[0]?.data).toBe('through the template');
      raw.close();

      // Both broker connections use database 3, the template's; the template itself was never opened.
      const list = String(await redisCommand(redis.url, ['CLIENT', 'LIST']));
      expect(list).toMatch(/name=ssekit-publish .*db=3/);
      expect(list).toMatch(/name=ssekit-reader .*db=3/);
      expect(template.isOpen).toBe(false);
    } finally {
      await instance.close();
    }
  });
});
