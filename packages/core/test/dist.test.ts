import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  it('has been built (one ES module with its type declarations)', () => {
    for (const file of ['index.js', 'index.d.ts']) {
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
});
