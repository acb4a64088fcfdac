import type { Http2ServerResponse } from 'node:http2';
import type { SseResponse } from './stream.js';

/**
 * True once nothing more can be written: the response ended or its connection is gone. `Http2ServerResponse` has no
 * `destroyed`, so on HTTP/2 the stream itself is asked; without that, a client that left before the stream opened
 * (during an async `clientId()`) would leave a stream that never ends.
 */
export function isGone(res: SseResponse): boolean {
  if (res.writableEnded || res.destroyed === true) return true;
  const h2 = (res as Partial<Http2ServerResponse>).stream;
  return h2 !== undefined && h2 !== null && (h2.destroyed || h2.closed);
}

/** compression()'s `flush` of the response, or null when it has none. */
export function flushOf(res: SseResponse): (() => void) | null {
  const flush = (res as { flush?: unknown }).flush;
  return typeof flush === 'function' ? (flush as () => void) : null;
}
