import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { packageEntries } from './scripts/package-entries.js';

const root = import.meta.dirname;

// Tests run the packages' sources: every specifier of every package's `exports` (`@ssekit/core`,
// `@ssekit/core/adapter`, …) maps to the src file its dist file is built from. Exact matches only.
const sourceAliases = readdirSync(join(root, 'packages')).flatMap((dir) =>
  packageEntries(join(root, 'packages', dir)).map((entry) => ({
    find: new RegExp(`^${entry.specifier.replace(/[/.]/g, '\\$&')}$`),
    replacement: entry.source,
  })),
);

// `SSEKIT_REDIS_MAJOR=5` runs the broker and its tests on node-redis 5 (the `redis5` alias package) instead of the
// current major, so both majors the peer range covers are tested.
const redisMajor = process.env.SSEKIT_REDIS_MAJOR;
if (redisMajor !== undefined && redisMajor !== '5' && redisMajor !== '6') {
  throw new Error(`SSEKIT_REDIS_MAJOR must be 5 or 6, got ${redisMajor}.`);
}
const redisAliases = redisMajor === '5' ? [{ find: /^redis(\/.*)?$/, replacement: 'redis5$1' }] : [];

export default defineConfig({
  resolve: { alias: [...sourceAliases, ...redisAliases] },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Real servers and real clients: keep the 2-core machine from being oversubscribed.
    maxWorkers: 2,
    // In CI a JSON report as well, from which .ci/run prints one plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-results.json' }]] : ['default'],
  },
});
