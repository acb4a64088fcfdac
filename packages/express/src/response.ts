import { SseError, type SseStream } from '@ssekit/core';
import type { ResolvedConnectOptions } from '@ssekit/core/adapter';
import express, { type Response } from 'express';

const NO_STREAM =
  'res.sse is only available after the sse() middleware opened the stream: app.get(path, sse(options), handler). ' +
  'This route has no sse(), or it answered without a stream (a HEAD request, a refused connection).';

/**
 * Every Express response answers `res.sse`: the stream on SSE routes, a clear error elsewhere. This keeps the
 * global `Response.sse: SseStream` type honest: a mistake shows up as `SSE_NO_STREAM`, never as `undefined`.
 * One getter on the prototype serves every response: a property defined on each response would give it a
 * dictionary of properties of its own (about 250 bytes per connection).
 */
function installGetter(proto: object): void {
  if (Object.getOwnPropertyDescriptor(proto, 'sse') !== undefined) return;
  Object.defineProperty(proto, 'sse', {
    configurable: true,
    enumerable: false,
    get(this: object) {
      const found = bound.get(this);
      if (found === undefined) throw new SseError('SSE_NO_STREAM', NO_STREAM);
      return found.stream;
    },
  });
}

interface Bound {
  stream: SseStream;
  // Only its logger is used here; the request type does not matter.
  route: ResolvedConnectOptions<never>;
}

// What sseErrors() needs to end the right stream with the right logger; weak, so a finished response is collected.
const bound = new WeakMap<object, Bound>();

installGetter(express.response);

/** Makes the open stream `res.sse` for the rest of the request. */
export function bindStream(res: Response, stream: SseStream, route: ResolvedConnectOptions<never>): void {
  // Another copy of Express (Express 4 next to 5, say) has a response prototype of its own.
  if (!('sse' in res)) installGetter(Object.getPrototypeOf(res) as object);
  bound.set(res, { stream, route });
}

/** The stream `sse()` opened on this response and its route, if any. */
export function boundStream(res: Response): Bound | undefined {
  return bound.get(res);
}
