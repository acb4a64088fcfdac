import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiPackage, buildApiModel, renderApiMarkdown } from '../../scripts/api-docs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const target = join(root, 'docs', 'api.md');

let model: ApiPackage[] = [];
let generated = '';

beforeAll(() => {
  model = buildApiModel(root);
  generated = renderApiMarkdown(model);
}, 120_000);

describe('docs/api.md, the reference generated from the sources', () => {
  it('is up to date: regenerating it from packages/*/src gives the committed text (else run `pnpm docs:api`)', () => {
    const committed = existsSync(target) ? readFileSync(target, 'utf8') : '';
    if (committed === generated) return;
    const a = committed.split('\n');
    const b = generated.split('\n');
    let line = 0;
    while (line < a.length && line < b.length && a[line] === b[line]) line++;
    throw new Error(
      `docs/api.md is out of date with the sources: run \`pnpm docs:api\` and commit the result.\n` +
        `First difference at line ${line + 1}:\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`,
    );
  });

  it('documents every package whose src/index.ts exists, and each subpath entry point after its package', () => {
    const expected = ['core', 'core/adapter', 'core/broker', 'express', 'fastify', 'redis'].filter((entry) => {
      const [dir, subpath] = entry.split('/') as [string, string | undefined];
      return existsSync(join(root, 'packages', dir, 'src', `${subpath ?? 'index'}.ts`));
    });
    expect(model.map((pkg) => pkg.name)).toEqual(expected.map((entry) => `@ssekit/${entry}`));
  });

  it('has a doc comment for every exported name (TSDoc is the reference)', () => {
    const undocumented = model.flatMap((pkg) =>
      pkg.entries
        .filter((entry) => entry.reexportedFrom === undefined && entry.doc === '')
        .map((e) => `${pkg.name}: ${e.name}`),
    );
    expect(undocumented).toEqual([]);
  });

  it('shows a signature for every exported name', () => {
    const missing = model.flatMap((pkg) =>
      pkg.entries
        .filter((entry) => entry.reexportedFrom === undefined && entry.signature === '')
        .map((e) => `${pkg.name}: ${e.name}`),
    );
    expect(missing).toEqual([]);
  });
});
