import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_REFERENCE_DIR,
  type ApiReferenceRun,
  apiEntryPoints,
  generateApiReference,
} from '../../scripts/api-reference.js';
import { anchorsOf, linksOf } from './links.js';

const out = mkdtempSync(join(tmpdir(), 'ssekit-api-'));
let run: ApiReferenceRun = { problems: ['not generated'] };

beforeAll(async () => {
  run = await generateApiReference(out);
}, 120_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

/** The Markdown files under `dir`, relative to it, sorted. */
function pages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => file.endsWith('.md'))
    .map((file) => file.split('\\').join('/'))
    .sort();
}

describe('docs/api/, the reference TypeDoc generates from the sources', () => {
  it('is up to date: regenerating it from packages/*/src gives the committed pages (else run `pnpm docs:api`)', () => {
    const generated = pages(out);
    expect(pages(API_REFERENCE_DIR), 'the pages of docs/api/: run `pnpm docs:api` and commit the result').toEqual(
      generated,
    );
    for (const page of generated) {
      const committed = readFileSync(join(API_REFERENCE_DIR, page), 'utf8').split('\n');
      const fresh = readFileSync(join(out, page), 'utf8').split('\n');
      let line = 0;
      while (line < committed.length && line < fresh.length && committed[line] === fresh[line]) line++;
      if (line === committed.length && line === fresh.length) continue;
      throw new Error(
        `docs/api/${page} is out of date with the sources: run \`pnpm docs:api\` and commit the result.\n` +
          `First difference at line ${line + 1}:\n  committed: ${committed[line] ?? '(end of file)'}\n` +
          `  generated: ${fresh[line] ?? '(end of file)'}`,
      );
    }
  });

  it('generates without a warning: every {@link} resolves, every exported name has a doc comment', () => {
    expect(run.problems).toEqual([]);
  });

  it("has one page per entry point of every package's exports, and an index", () => {
    const expected = apiEntryPoints().map((entry) => `${entry.specifier}.md`);
    expect(pages(out)).toEqual(['README.md', ...expected].sort());
  });

  it('has no broken relative link or anchor', () => {
    const broken: string[] = [];
    const anchors = new Map<string, Set<string>>();
    const anchorsIn = (file: string): Set<string> => {
      let found = anchors.get(file);
      if (found === undefined) anchors.set(file, (found = anchorsOf(readFileSync(file, 'utf8'))));
      return found;
    };
    for (const page of pages(out)) {
      for (const link of linksOf(readFileSync(join(out, page), 'utf8'))) {
        const [path = '', anchor] = link.target.split('#');
        const target = path === '' ? join(out, page) : resolve(dirname(join(out, page)), decodeURIComponent(path));
        if (!existsSync(target)) broken.push(`${page}:${link.line}: ${link.target} (no such file)`);
        else if (anchor && !anchorsIn(target).has(anchor)) {
          broken.push(`${page}:${link.line}: ${link.target} (no such anchor)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
