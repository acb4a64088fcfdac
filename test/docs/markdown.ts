import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Finds the TypeScript code blocks of a Markdown file, so the docs' samples can be compiled.
 *
 * A block is a fenced code block whose info string starts with `ts` or `typescript`. Words after the language are
 * tags that tell the harness how to check the block:
 * - (none): a complete module, type-checked against the real ssekit packages under Node's types.
 * - `browser`: a complete script for a web page, type-checked against the DOM library instead of Node's.
 * - `peer`: code of another SSE library (a migration "before"), type-checked against that library as installed
 *   in `bench/node_modules`.
 * - `fragment`: deliberately incomplete (one option object, one line of a config); parsed for syntax only.
 */

/** How a block is checked. */
export type BlockKind = 'module' | 'browser' | 'peer' | 'fragment';

/** One TypeScript block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root (e.g. `docs/getting-started.md`). */
  file: string;
  /** 1-based line of the opening fence. The code starts on the next line. */
  line: number;
  kind: BlockKind;
  /** The code, with the fence's indentation removed. */
  code: string;
  /** A mistake in the fence itself (an unknown tag, conflicting tags, an unclosed fence); the block then fails. */
  problem?: string;
}

const TS_LANGUAGES = new Set(['ts', 'typescript']);
const TAGS: Record<string, BlockKind> = { browser: 'browser', peer: 'peer', fragment: 'fragment' };

const OPENING = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/;

/** Extracts every ```ts block of `markdown`, in order. Blocks of other languages are skipped. */
export function extractCodeBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = OPENING.exec(lines[i] as string);
    if (open === null) {
      i++;
      continue;
    }
    const indent = (open[1] as string).length;
    const fence = open[2] as string;
    const words = (open[3] as string).trim().split(/\s+/).filter(Boolean);
    const startLine = i + 1;
    const body: string[] = [];
    let closed = false;
    i++;
    const closing = new RegExp(`^\\s*\\${fence[0]}{${fence.length},}\\s*$`);
    while (i < lines.length) {
      const text = lines[i] as string;
      i++;
      if (closing.test(text)) {
        closed = true;
        break;
      }
      body.push(stripIndent(text, indent));
    }
    const language = (words[0] ?? '').toLowerCase();
    if (!TS_LANGUAGES.has(language)) continue;
    const block: CodeBlock = { file, line: startLine, kind: 'module', code: `${body.join('\n')}\n` };
    const tags = words.slice(1);
    const problems: string[] = [];
    for (const tag of tags) {
      const kind = TAGS[tag];
      if (kind === undefined) {
        problems.push(`unknown tag \`${tag}\` (known: ${Object.keys(TAGS).join(', ')})`);
      } else if (block.kind !== 'module' && block.kind !== kind) {
        problems.push(`tags \`${block.kind}\` and \`${tag}\` cannot be combined`);
      } else {
        block.kind = kind;
      }
    }
    if (!closed) problems.push('the fence is never closed');
    if (problems.length > 0) block.problem = `${file}:${startLine}: ${problems.join('; ')}`;
    blocks.push(block);
  }
  return blocks;
}

function stripIndent(text: string, indent: number): string {
  let n = 0;
  while (n < indent && n < text.length && text[n] === ' ') n++;
  return text.slice(n);
}

/**
 * The Markdown pages a reader sees, relative to the repository root: the README, every page of docs/, and the
 * READMEs of the packages and the demo (what npm and the repository show for each).
 */
export function markdownFiles(root: string): string[] {
  const files = ['README.md'];
  for (const name of readdirSync(join(root, 'docs')).sort()) if (name.endsWith('.md')) files.push(`docs/${name}`);
  for (const name of readdirSync(join(root, 'packages')).sort()) files.push(`packages/${name}/README.md`);
  files.push('demo/README.md');
  return files.filter((file) => existsSync(join(root, file)));
}
