import type { SseStream } from '@ssekit/core';
import type { ConnectOptions } from '@ssekit/core/adapter';
import type { NextFunction, Request, Response } from 'express';

/** Named route params (`/rooms/:room`); Express 5 wildcards (`/*path`) give `string[]`, pass your own type then. */
export type NamedParams = Record<string, string>;

/**
 * Options of `sse()`, per route. `clientId(req)` and `topics(req)` receive Express's `req` (with `req.params`,
 * `req.user` and whatever your auth middleware added); every other option is a stream option of `@ssekit/core`.
 * `P` is the type of `req.params` (default: named string params, e.g. `sse<{ path: string[] }>()` for a wildcard).
 */
export type SseOptions<P = NamedParams> = ConnectOptions<Request<P>>;

/**
 * The handler of the `sse(options, handler)` form. It runs once the stream is open, with `res.sse` ready. A throw
 * or a rejection ends the stream with reason `error` and is logged with the route's `logger`; it never reaches
 * Express's error handling (which would tear the socket down) and never crashes the process.
 */
export type SseHandler<P = NamedParams> = (req: Request<P>, res: Response, next: NextFunction) => unknown;

declare global {
  namespace Express {
    interface Response {
      /**
       * The SSE stream of this request, opened by the `sse()` middleware: `send`, `write`, `comment`, `close`,
       * `pipe`, `signal`, `lastEventId`, `clientId`, `subscribe`/`unsubscribe`, `closeReason`; on a route declared
       * with `sse({ resumable })`, `resumable(producer)` starts the stream's producer (docs/streaming-responses.md).
       *
       * Reading it on a route without `sse()` (or before `sse()` ran) throws an `SseError` with code
       * `SSE_NO_STREAM` rather than returning `undefined`.
       */
      readonly sse: SseStream;
    }
  }
}
