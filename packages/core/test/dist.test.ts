import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The published package, as users load it: plain Node (no `source` condition), by its name, from CommonJS and ESM.
// `pnpm test` builds first; run `pnpm --filter @ssekit/core build` before running this file alone.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

const program = `
  const message = { event: 'update', id: 7, data: 'a\\nb' };
  const out = (core) => JSON.stringify({
    frame: core.formatEvent(message),
    exports: Object.keys(core).filter((key) => key !== 'default' && key !== '__esModule').sort(),
    hub: typeof core.createHub().broadcast,
  });
`;

async function run(args: string[]): Promise<{ frame: string; exports: string[]; hub: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: packageDir, timeout: 20_000 });
  return JSON.parse(stdout);
}

describe('the built package', () => {
  it('has been built (an ES module and its type declarations per entry point)', () => {
    const files = ['index', 'adapter', 'broker'].flatMap((entry) => [`${entry}.js`, `${entry}.d.ts`]);
    for (const file of files) {
      expect(existsSync(dist(file)), `dist/${file} is missing: run \`pnpm --filter @ssekit/core build\``).toBe(true);
    }
  });

  it('works from CommonJS: require("@ssekit/core") formats an event', async () => {
    const result = await run(['-e', `${program} process.stdout.write(out(require('@ssekit/core')));`]);
    expect(result.frame).toBe('event: update\nid: 7\ndata: a\ndata: b\n\n');
    expect(result.hub).toBe('function');
  });

  it('works from ESM: import("@ssekit/core") formats an event, with the same exports as CommonJS', async () => {
    const esm = await run([
      '--input-type=module',
      '-e',
      `${program} process.stdout.write(out(await import('@ssekit/core')));`,
    ]);
    const cjs = await run(['-e', `${program} process.stdout.write(out(require('@ssekit/core')));`]);
    expect(esm.frame).toBe('event: update\nid: 7\ndata: a\ndata: b\n\n');
    expect(esm.exports).toEqual(cjs.exports);
    expect(esm.exports).toContain('createStream');
  });

  it('resolves the package name to the one built module from both require and import, not the TypeScript sources', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module';
         const require = createRequire(process.cwd() + '/');
         process.stdout.write(JSON.stringify([import.meta.resolve('@ssekit/core'), require.resolve('@ssekit/core')]));`,
      ],
      { cwd: packageDir, timeout: 20_000 },
    );
    const [esm, cjs] = JSON.parse(stdout) as [string, string];
    expect(fileURLToPath(esm)).toBe(dist('index.js'));
    expect(cjs).toBe(dist('index.js'));
  });

  it('serves the adapter and broker entry points to require() and import, sharing one copy of the package', async () => {
    // A stream made through the app entry is ended through the adapter entry: both must see the same module state.
    const probe = (load: string) => `
      const http = require('node:http');
      const [core, adapter, broker] = ${load};
      const server = http.createServer((req, res) => {
        const stream = core.createStream(req, res, { heartbeat: false });
        adapter.endStream(stream, 'shutdown');
        process.stdout.write(JSON.stringify({
          reason: stream.closeReason,
          adapter: typeof adapter.openConnection,
          broker: typeof broker.History,
        }));
        server.close();
      });
      server.listen(0, '127.0.0.1', () => {
        http.get('http://127.0.0.1:' + server.address().port + '/', (res) => res.resume()).on('error', () => {});
      });`;
    const names = `['@ssekit/core', '@ssekit/core/adapter', '@ssekit/core/broker']`;
    const expected = { reason: 'shutdown', adapter: 'function', broker: 'function' };
    expect(await run(['-e', probe(`${names}.map((name) => require(name))`)])).toEqual(expected);
    const esm = `const require = (await import('node:module')).createRequire(process.cwd() + '/');
      ${probe(`await Promise.all(${names}.map((name) => import(name)))`)}`;
    expect(await run(['--input-type=module', '-e', esm])).toEqual(expected);
  });
});

// What users' editors and compilers see: the declarations of each entry point and every declaration file they reach
// (tsc emits one per source file; files no entry point reaches cannot be imported, the exports maps forbid it).
const packagesDir = fileURLToPath(new URL('../..', import.meta.url));

/** The declaration files reachable from `dist/<entry>.d.ts` of every entry in the package's exports map. */
function reachableDeclarations(pkgDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const queue = Object.values(manifest.exports)
    .map((target) => (typeof target === 'object' && target !== null ? (target as { types?: string }).types : undefined))
    .filter((types): types is string => types !== undefined)
    .map((types) => join(pkgDir, types));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\()['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      queue.push(join(file, '..', `${match[1]}.d.ts`));
    }
  }
  return [...seen];
}

describe('published type declarations', () => {
  it('no declaration an entry point reaches, in any package, carries an @internal member or the SharedRuns class', () => {
    const offending: string[] = [];
    let checked = 0;
    for (const pkg of readdirSync(packagesDir)) {
      const pkgDir = join(packagesDir, pkg);
      if (!existsSync(join(pkgDir, 'dist'))) continue;
      for (const file of reachableDeclarations(pkgDir)) {
        checked++;
        const text = readFileSync(file, 'utf8');
        if (text.includes('@internal')) offending.push(`${file}: @internal`);
        if (/\bSharedRuns\b/.test(text)) offending.push(`${file}: SharedRuns`);
      }
    }
    expect(checked, 'no declarations found: run `pnpm build` first').toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });
});
