import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, linksOf, slugOf } from './links.js';
import { markdownFiles } from './markdown.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('links between the docs', () => {
  it('slugs headings the way GitHub does', () => {
    expect(slugOf('HTTP/2 and the six-connection limit of HTTP/1.1')).toBe(
      'http2-and-the-six-connection-limit-of-http11',
    );
    expect(slugOf('CORS and the `Last-Event-ID` preflight')).toBe('cors-and-the-last-event-id-preflight');
    expect(slugOf('From `@fastify/sse`')).toBe('from-fastifysse');
    expect(anchorsOf('# A\n## A\n```md\n# not a heading\n```\n<a id="x"></a>')).toEqual(new Set(['a', 'a-1', 'x']));
  });

  for (const file of markdownFiles(root)) {
    it(`every relative link of ${file} points at an existing file and anchor`, () => {
      const broken: string[] = [];
      for (const link of linksOf(readFileSync(join(root, file), 'utf8'))) {
        const [path = '', anchor] = link.target.split('#');
        const targetFile =
          path === '' ? join(root, file) : resolve(dirname(join(root, file)), decodeURIComponent(path));
        if (!existsSync(targetFile)) {
          broken.push(`${file}:${link.line}: ${link.target} (no such file: ${relative(root, targetFile)})`);
          continue;
        }
        if (anchor === undefined || anchor === '' || statSync(targetFile).isDirectory()) continue;
        if (!targetFile.endsWith('.md')) continue;
        if (!anchorsOf(readFileSync(targetFile, 'utf8')).has(anchor)) {
          broken.push(
            `${file}:${link.line}: ${link.target} (no heading or anchor "#${anchor}" in ${relative(root, targetFile)})`,
          );
        }
      }
      expect(broken).toEqual([]);
    });
  }
});
