import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';

// `@opentelemetry/api` is an optional peer dependency: loaded on first use, synchronously, because a hub is created
// synchronously and must record from its first event. Not an `import` (it would be required), not a top-level await
// (Node's `require()` of an ES module refuses those), not a dynamic `import()` (it settles after `createHub()`
// returned). Several copies of the API share one global registry, so a copy loaded here sees the app's SDK.
const load = createRequire(import.meta.url);
let api: typeof OtelApi | null | undefined;

/** `@opentelemetry/api`, or `undefined` when the app has not installed it. */
export function otelApi(): typeof OtelApi | undefined {
  if (api === undefined) {
    try {
      api = load('@opentelemetry/api') as typeof OtelApi;
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== 'MODULE_NOT_FOUND') throw error;
      api = null;
    }
  }
  return api ?? undefined;
}

/** This package's version: the version of the meter the hubs record with. */
export const PACKAGE_VERSION: string = (load('../package.json') as { version: string }).version;
