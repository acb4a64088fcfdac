import { readFileSync } from 'node:fs';
import { clientBundle } from '../../scripts/client-bundle.js';
import type { Asset } from './routes.js';

const PUBLIC = new URL('../public/', import.meta.url);

const FILES: readonly { path: string; file: string; contentType: string }[] = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { path: '/app.js', file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/chat.js', file: 'chat.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/style.css', file: 'style.css', contentType: 'text/css; charset=utf-8' },
  { path: '/favicon.svg', file: 'favicon.svg', contentType: 'image/svg+xml' },
];

let client: Promise<Buffer> | undefined;

/**
 * `@ssekit/client` for the page, as one ES module: the same esbuild bundle `pnpm client:size` measures, built from
 * the package's sources (not minified, so that the page's source stays readable). Built once per process, when the
 * first demo starts, so there is no build step to run and nothing generated to commit.
 */
function clientAsset(): Promise<Buffer> {
  client ??= clientBundle(false).then((code) => Buffer.from(code));
  // A failed build is not cached: the next demo to start tries again.
  client.catch(() => (client = undefined));
  return client;
}

/**
 * The page: plain files read once at start, served as they are, and the client's bundle at `/client.js`. A fixed
 * list, so no path ever reaches the disk.
 */
export async function loadAssets(): Promise<Asset[]> {
  const files = FILES.map(({ path, file, contentType }) => ({
    path,
    contentType,
    body: readFileSync(new URL(file, PUBLIC)),
  }));
  return [...files, { path: '/client.js', contentType: 'text/javascript; charset=utf-8', body: await clientAsset() }];
}
