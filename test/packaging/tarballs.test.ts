import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The five packages as npm users get them: packed by `pnpm pack` (which rewrites `workspace:^`), installed with npm
// from the tarballs into a project outside the workspace next to express, fastify and redis from the registry, then
// linted (publint, attw), run (an Express ES module app, a Fastify CommonJS app, both forms in one process) and
// type-checked (TypeScript nodenext, node16, bundler). `pnpm test` builds first; run `pnpm build` before this file.

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));
const PACKAGES = ['client', 'core', 'express', 'fastify', 'redis'] as const;
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` to completion; never rejects, so a test can show what a failed tool printed. */
function run(file: string, args: string[], cwd: string, timeout = 120_000): Promise<Output> {
  // pnpm's npm_config_* variables (it runs this suite) would reconfigure npm in the outside project.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
    });
  });
}

/** Runs `file` and returns its stdout; throws with everything it printed when it fails. */
async function succeed(file: string, args: string[], cwd: string, timeout?: number): Promise<string> {
  const out = await run(file, args, cwd, timeout);
  if (out.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited with ${out.code}\n${out.stdout}\n${out.stderr}`);
  }
  return out.stdout;
}

/** Runs a fixture app with this process's Node and returns the JSON it printed. */
async function runApp(app: string, file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await succeed(process.execPath, [file], app, 30_000));
}

describe('the packed packages, installed from their tarballs outside the workspace', () => {
  let dir: string;
  let app: string;
  let tarballs: string[];

  beforeAll(async () => {
    for (const name of PACKAGES) {
      const built = join(root, 'packages', name, 'dist', 'index.js');
      if (!existsSync(built)) throw new Error(`${built} is missing: run \`pnpm build\` before the tarball tests.`);
    }
    dir = await mkdtemp(join(tmpdir(), 'ssekit-tarballs-'));
    const packed = join(dir, 'tarballs');
    await Promise.all(
      PACKAGES.map((name) => succeed('pnpm', ['pack', '--pack-destination', packed], join(root, 'packages', name))),
    );
    tarballs = (await readdir(packed)).map((file) => join(packed, file)).sort();
    app = join(dir, 'app');
    await mkdir(app);
    await cp(fixtures, app, { recursive: true });
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'ssekit-tarball-check', private: true }));
    await succeed(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        ...tarballs,
        'express@^5',
        'fastify@^5',
        'redis@^6',
        '@types/express@^5',
        '@types/node@^20.19.0',
      ],
      app,
      150_000,
    );
  }, 180_000);

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('packs each package as dist/, README.md, LICENSE and package.json, without sources', async () => {
    expect(tarballs.map((file) => file.slice(file.lastIndexOf('/') + 1))).toEqual(
      PACKAGES.map((name) => `ssekit-${name}-0.1.0.tgz`),
    );
    for (const tarball of tarballs) {
      const files = (await succeed('tar', ['-tzf', tarball], dir)).trim().split('\n').sort();
      const outside = files.filter(
        (file) => !/^package\/(dist\/[\w.-]+\.(js|js\.map|d\.ts)|README\.md|LICENSE|package\.json)$/.test(file),
      );
      expect(outside, tarball).toEqual([]);
      expect(files, tarball).toContain('package/dist/index.js');
      expect(files, tarball).toContain('package/dist/index.d.ts');
    }
  });

  it('publishes no source-only export condition and no workspace: ranges', async () => {
    for (const name of PACKAGES) {
      const manifest = await succeed(
        'tar',
        ['-xzOf', join(dir, 'tarballs', `ssekit-${name}-0.1.0.tgz`), 'package/package.json'],
        dir,
      );
      expect(manifest, name).not.toMatch(/ssekit-source|\.\/src\/|workspace:/);
      const parsed = JSON.parse(manifest) as Record<string, unknown>;
      for (const field of ['repository', 'homepage', 'bugs', 'keywords', 'license', 'author', 'engines']) {
        expect(parsed[field], `${name}: ${field}`).toBeDefined();
      }
    }
  });

  it('passes publint (strict) for every tarball', async () => {
    const results = await Promise.all(
      tarballs.map((tarball) => run(bin('publint'), ['run', tarball, '--strict'], dir)),
    );
    for (const [i, out] of results.entries()) {
      expect(out.code, `${tarballs[i]}\n${out.stdout}\n${out.stderr}`).toBe(0);
      expect(out.stdout).toContain('All good!');
    }
  }, 60_000);

  // ESM only: `require` of these packages is require(esm) on the Node versions in `engines`, which attw's node10 and
  // node16-from-CommonJS resolutions do not model; its esm-only profile checks everything else.
  it('passes @arethetypeswrong/cli (esm-only profile) for every tarball', async () => {
    const results = await Promise.all(
      tarballs.map((tarball) => run(bin('attw'), [tarball, '--profile', 'esm-only', '--no-color'], dir)),
    );
    for (const [i, out] of results.entries()) {
      expect(out.code, `${tarballs[i]}\n${out.stdout}\n${out.stderr}`).toBe(0);
    }
  }, 90_000);

  it('serves an event to a real client from an Express app written as an ES module', async () => {
    expect(await runApp(app, 'express-app.mjs')).toEqual({
      type: 'text/event-stream; charset=utf-8',
      event: 'hello',
      data: { from: 'express-esm' },
    });
  }, 40_000);

  it('reads the typed events of an Express route with @ssekit/client on Node fetch, until ssekit-done', async () => {
    expect(await runApp(app, 'client-app.mjs')).toEqual({
      events: [{ event: 'tick', data: { n: 1 }, id: '' }],
      state: 'closed',
    });
  }, 40_000);

  it('gives a CommonJS Fastify app the plugin itself from require (with .default and .ssekit), which serves an event', async () => {
    expect(await runApp(app, 'fastify-app.cjs')).toEqual({
      shape: { type: 'function', default: true, named: true, destructured: true },
      event: { type: 'text/event-stream; charset=utf-8', event: 'hello', data: { from: 'fastify-cjs' } },
    });
  }, 40_000);

  it('shares one default hub and one set of error classes between require and import in one process', async () => {
    expect(await runApp(app, 'one-instance.cjs')).toEqual({
      sameHub: true,
      sameCore: true,
      redisBroker: 'function',
      errorCode: 'SSE_INVALID_CLIENT_ID',
      instanceOfImported: true,
      isSseErrorImported: true,
      event: { type: 'text/event-stream; charset=utf-8', event: 'note', data: { via: 'imported hub' } },
    });
  }, 40_000);

  it.each(['nodenext', 'node16', 'bundler'])(
    'type-checks a program with CommonJS and ES module files against the installed declarations (%s)',
    async (config) => {
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      const out = await run(process.execPath, [tsc, '-p', `tsconfig.${config}.json`], app, 170_000);
      expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
    },
    180_000,
  );
});
