import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

// Three entry points, one per audience: the app API, adapter authors, broker authors (package.json `exports`).
export default defineConfig({
  ...packageBuild,
  entry: ['src/index.ts', 'src/adapter.ts', 'src/broker.ts'],
  // One copy of each module for all three entries, in CommonJS too: a stream made through one entry must be the
  // same class (and the same package-private state) the others see.
  splitting: true,
});
