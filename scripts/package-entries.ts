import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One public entry point of an @ssekit package: the specifier users import (`@ssekit/core`, `@ssekit/core/adapter`),
 * the source file it is built from and the file its `exports` target names.
 */
export interface PackageEntry {
  /** The name of the built file: `dist/<name>.js`, compiled from `src/<name>.ts`. */
  readonly name: string;
  readonly specifier: string;
  /** Absolute path of `src/<name>.ts`. */
  readonly source: string;
}

/**
 * The entry points of the package in `packageDir`, read from its package.json `exports`: each subpath whose target is
 * `./dist/<name>.js` (directly, or under any condition) is built from `src/<name>.ts`. The build and the test aliases
 * both come from here, so a subpath added to `exports` is built and resolved without touching either.
 */
export function packageEntries(packageDir: string): PackageEntry[] {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, unknown>;
  };
  const entries: PackageEntry[] = [];
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const names = new Set(builtFiles(target));
    if (names.size === 0) continue;
    if (names.size > 1) {
      throw new Error(`${manifest.name}: exports["${subpath}"] names several built files (${[...names].join(', ')}).`);
    }
    const [name] = names as unknown as [string];
    const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, '')}`;
    entries.push({ name, specifier, source: join(packageDir, 'src', `${name}.ts`) });
  }
  if (entries.length === 0) throw new Error(`${manifest.name}: package.json exports names no ./dist/<name>.js file.`);
  return entries;
}

/** The `<name>` of every `./dist/<name>.js` target under an `exports` value, whatever conditions wrap it. */
function builtFiles(target: unknown): string[] {
  if (typeof target === 'string') {
    const match = /^\.\/dist\/(.+)\.js$/.exec(target);
    return match === null ? [] : [match[1] as string];
  }
  if (target !== null && typeof target === 'object') return Object.values(target).flatMap(builtFiles);
  return [];
}
