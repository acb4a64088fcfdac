import type { UserConfig } from 'tsdown';
import { packageEntries } from './scripts/package-entries.js';

/**
 * How every @ssekit package is built, run from the package's folder: one ES module per `exports` entry
 * (`src/<name>.ts` to `dist/<name>.js` with `dist/<name>.d.ts`), shared code split into chunks so every entry point
 * sees the same module instances. ESM only: CommonJS apps load it with `require()` (require(esm), unflagged from Node
 * 20.19 and 22.12), which returns these same instances, so there is one default hub and one set of error classes.
 */
export function packageBuild(packageDir: string): UserConfig {
  return {
    entry: Object.fromEntries(packageEntries(packageDir).map((entry) => [entry.name, entry.source])),
    format: 'esm',
    fixedExtension: false,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20.19',
    platform: 'node',
    // The tsconfig that maps @ssekit/* to sources is for the workspace; the build resolves siblings as users do.
    tsconfig: 'tsconfig.json',
  };
}
