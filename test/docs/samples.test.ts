import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CodeBlock, extractCodeBlocks, markdownFiles } from './markdown.js';
import { type CheckRun, checkBlocks } from './type-check.js';

// Every ```ts block of the READMEs and docs/*.md is a real program: this file compiles each one against the packages'
// sources so that a renamed option or a changed signature breaks the build, not the reader. The generated
// reference (docs/api/) is not among these pages: api.test.ts keeps it current.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const blocks: CodeBlock[] = markdownFiles(root).flatMap((file) =>
  extractCodeBlocks(file, readFileSync(join(root, file), 'utf8')),
);

let run: CheckRun | undefined;

beforeAll(() => {
  run = checkBlocks(root, blocks);
}, 180_000);

afterAll(() => {
  run?.dispose();
});

describe('code samples in the docs compile against the real packages', () => {
  it('the compiler setup itself reports no error', () => {
    expect(run?.setupErrors).toEqual([]);
  });

  for (const block of blocks) {
    const label = block.kind === 'module' ? '' : ` (${block.kind})`;
    it(`${block.file}:${block.line}${label}`, () => {
      const result = run?.results.get(block);
      if (result === undefined) throw new Error(`${block.file}:${block.line} was not checked`);
      if (result.errors.length > 0) {
        throw new Error(
          `The sample at ${block.file}:${block.line} does not compile (checked by ${result.checkedBy}):\n${result.errors.join('\n')}`,
        );
      }
    });
  }
});
