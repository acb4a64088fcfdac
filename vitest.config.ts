import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['ssekit-source'] },
  ssr: { resolve: { conditions: ['ssekit-source'] } },
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
