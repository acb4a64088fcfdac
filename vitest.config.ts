import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
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

// Four projects, by what a test file needs; every test file belongs to exactly one, so `vitest run` (the README's
// `pnpm test`) runs each once, and a path filter (`vitest run packages test/redis`) still selects by path across
// them. `vitest run --project unit` (`pnpm test:unit`) is the edit loop.
// - unit: the packages' own tests: real sockets on 127.0.0.1, no redis-server, Chromium or built dist.
// - integration: both adapters against real clients, a real redis-server, proxies, the demo's API, the docs, the
//   built packages and their tarballs.
// - load: test/reliability, many connections, slow consumers, faults, fuzzing.
// - browser: Chromium's own EventSource, the demo's page included (the files named here).
// Groups run one after the other (sequence.groupOrder): the browser tests after unit and integration, and the load
// tests last and alone, because 10,000 connections on a 2-core machine starve whatever runs beside them (the demo's
// page tests timed out at 20 s next to them).
const needsMoreThanAProcess = ['packages/core/test/dist.test.ts', 'packages/redis/test/client-template.test.ts'];
const chromiumFiles = [
  'test/adapters/browser.test.ts',
  'test/client/chromium.test.ts',
  'test/adapters/event-id-resume-chromium.test.ts',
  'test/demo/page.test.ts',
  'test/demo/redis.test.ts',
  'test/demo/chat.test.ts',
  'test/demo/chat-redis.test.ts',
  'test/reliability/limits-chromium.test.ts',
];

export default defineConfig({
  resolve: { alias: [...sourceAliases, ...redisAliases] },
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Real servers and real clients: keep the 2-core machine from being oversubscribed.
    maxWorkers: 2,
    // In CI a JSON report as well, from which .ci/run prints one plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-results.json' }]] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['packages/*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...needsMoreThanAProcess],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts', ...needsMoreThanAProcess],
          exclude: [...configDefaults.exclude, 'test/reliability/**', ...chromiumFiles],
        },
      },
      {
        extends: true,
        test: {
          name: 'load',
          sequence: { groupOrder: 2 },
          include: ['test/reliability/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...chromiumFiles],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: chromiumFiles,
          sequence: { groupOrder: 1 },
          // Three tabs, two demo instances and Redis share two cores: a step that takes 2 s alone took over 20 s on a
          // loaded machine. A stuck page still fails, later.
          testTimeout: 45_000,
        },
      },
    ],
  },
});
