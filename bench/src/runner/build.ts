/**
 * ssekit is measured as users get it: its built packages (`dist`, what npm publishes), like the peers. Running it
 * from TypeScript sources through tsx would cost it memory and CPU that users never pay (tsx keeps function names
 * with an extra property definition on every closure, about 0.8 KB per connection here). The bench builds a package
 * whose `dist` is missing or older than its sources; `--source` runs the sources instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './servers.js';

export const PACKAGES = ['core', 'express', 'fastify', 'redis'] as const;

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Packages whose dist is missing or older than their sources. */
export function stalePackages(): string[] {
  return PACKAGES.filter((pkg) => {
    const src = repoPath(`packages/${pkg}/src`);
    if (!existsSync(join(src, 'index.ts'))) return false;
    const dist = repoPath(`packages/${pkg}/dist/index.js`);
    return !existsSync(dist) || statSync(dist).mtimeMs < newest(src);
  });
}

/** Builds the stale packages (tsc, as `pnpm build` does); throws when a build fails. */
export function buildPackages(): void {
  for (const pkg of stalePackages()) {
    console.log(`building @ssekit/${pkg} (dist missing or older than src)`);
    const result = spawnSync('pnpm', ['--filter', `@ssekit/${pkg}`, 'build'], { cwd: repoPath(''), stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`pnpm --filter @ssekit/${pkg} build failed (exit ${result.status})`);
  }
}

/** The runner's Node flags without the condition that maps `@ssekit/*` to TypeScript sources. */
export function distExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (arg === '--conditions=ssekit-source' || arg === '-C=ssekit-source') continue;
    if ((arg === '--conditions' || arg === '-C') && execArgv[i + 1] === 'ssekit-source') {
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
