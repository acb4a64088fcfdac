import { describe, expect, it } from 'vitest';
import { extractCodeBlocks } from './markdown.js';

describe('finding the TypeScript samples of a Markdown file', () => {
  it('takes ts and typescript fences, with the line of the opening fence, and skips other languages', () => {
    const md = [
      '# Title',
      '```ts',
      'const a = 1;',
      '```',
      '```sh',
      'pnpm test',
      '```',
      '```typescript',
      'let b;',
      '```',
    ];
    const blocks = extractCodeBlocks('x.md', md.join('\n'));
    expect(blocks.map((b) => [b.line, b.kind, b.code])).toEqual([
      [2, 'module', 'const a = 1;\n'],
      [8, 'module', 'let b;\n'],
    ]);
  });

  it('reads the browser, peer and fragment tags', () => {
    const md = ['```ts browser', 'a', '```', '```ts peer', 'b', '```', '```ts fragment', 'c', '```'];
    expect(extractCodeBlocks('x.md', md.join('\n')).map((b) => b.kind)).toEqual(['browser', 'peer', 'fragment']);
  });

  it('removes the indentation of a fence nested in a list', () => {
    const md = ['1. Step', '   ```ts', '   const a = 1;', '     nested();', '   ```'];
    expect(extractCodeBlocks('x.md', md.join('\n'))[0]?.code).toBe('const a = 1;\n  nested();\n');
  });

  it('keeps a shorter fence inside a longer one as code, and accepts tilde fences', () => {
    const md = ['````ts', '```', 'inner', '```', '````', '~~~ts', 'tilde', '~~~'];
    expect(extractCodeBlocks('x.md', md.join('\n')).map((b) => b.code)).toEqual(['```\ninner\n```\n', 'tilde\n']);
  });

  it('reports an unknown tag, conflicting tags and an unclosed fence instead of skipping the block', () => {
    const md = ['```ts frgament', 'a', '```', '```ts peer browser', 'b', '```', '```ts', 'c'];
    expect(extractCodeBlocks('x.md', md.join('\n')).map((b) => b.problem)).toEqual([
      'x.md:1: unknown tag `frgament` (known: browser, peer, fragment)',
      'x.md:4: tags `peer` and `browser` cannot be combined',
      'x.md:7: the fence is never closed',
    ]);
  });
});
