/**
 * The browser bundle of @ssekit/client (ESM, eventsource-parser included), built from the sources with esbuild, and
 * the size of it and of eventsource-parser alone, minified and gzipped.
 *
 *   pnpm client:size      prints the sizes (bytes, min+gzip), and that of the `eventsource` package beside them
 *
 * The Chromium test (test/client/chromium.test.ts) serves the same bundle to a page.
 */

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');

/** Bundles `contents` (an ES module) for the browser; `minify` as for production. Returns the code. */
async function bundle(
  contents: string,
  minify: boolean,
  resolveDir = join(root, 'packages', 'client'),
): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

/** The client's browser bundle: everything `@ssekit/client` exports, as one ES module. */
export function clientBundle(minify = false): Promise<string> {
  return bundle(`export * from ${JSON.stringify(join(root, 'packages', 'client', 'src', 'index.ts'))};`, minify);
}

/** Sizes in bytes of the minified, gzipped bundles. */
export interface ClientSizes {
  /** @ssekit/client with eventsource-parser, as an app that imports it ships it. */
  client: number;
  /** eventsource-parser alone (`createParser` and the rest of its entry point). */
  parser: number;
  /** The `eventsource` package (v4, an `EventSource` on fetch, eventsource-parser included), for comparison. */
  eventsource: number;
}

export async function measureClientSizes(): Promise<ClientSizes> {
  const gzipped = (code: string) => gzipSync(code, { level: 9 }).length;
  return {
    client: gzipped(await clientBundle(true)),
    parser: gzipped(await bundle(`export * from 'eventsource-parser';`, true)),
    eventsource: gzipped(await bundle(`export * from 'eventsource';`, true, root)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { client, parser, eventsource } = await measureClientSizes();
  console.log(`@ssekit/client (with eventsource-parser): ${client} bytes min+gzip`);
  console.log(`eventsource-parser alone:                 ${parser} bytes min+gzip`);
  console.log(`@ssekit/client's own code:                ${client - parser} bytes (the difference)`);
  console.log(`eventsource v4 (for comparison):          ${eventsource} bytes min+gzip`);
}
