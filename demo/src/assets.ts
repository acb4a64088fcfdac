import { readFileSync } from 'node:fs';
import type { Asset } from './routes.js';

const PUBLIC = new URL('../public/', import.meta.url);

const FILES: readonly { path: string; file: string; contentType: string }[] = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { path: '/app.js', file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/style.css', file: 'style.css', contentType: 'text/css; charset=utf-8' },
  { path: '/favicon.svg', file: 'favicon.svg', contentType: 'image/svg+xml' },
];

/** The page: plain files read once at start, served as they are. A fixed list, so no path ever reaches the disk. */
export function loadAssets(): Asset[] {
  return FILES.map(({ path, file, contentType }) => ({
    path,
    contentType,
    body: readFileSync(new URL(file, PUBLIC)),
  }));
}
