import manifest from 'redis/package.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';

// The peer range covers node-redis 5 and 6. The suite runs on 6 by default and on 5 with SSEKIT_REDIS_MAJOR=5
// (vitest.config.ts points `redis` at the `redis5` alias package, for the broker's imports and the tests' alike).
describe('the node-redis under test', () => {
  it('is the major SSEKIT_REDIS_MAJOR names (6 when unset)', () => {
    expect(manifest.version.split('.')[0]).toBe(process.env.SSEKIT_REDIS_MAJOR ?? '6');
  });
});
