import type { Options } from 'tsup';

/**
 * How every @ssekit package is built, run from the package's folder: `src/index.ts` to ESM and CommonJS with type
 * declarations for both (`.d.ts`, `.d.cts`), for Node 20, the shape each package.json's `exports` points at.
 */
export const packageBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
};
