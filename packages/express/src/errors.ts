import { routeHandlerFailed } from '@ssekit/core/adapter';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { boundStream } from './response.js';

/**
 * Error-handling middleware for SSE routes written as `app.get(path, sse(options), handler)`. Add it to the app
 * after your routes (`app.use(sseErrors())`), before your own error handlers.
 *
 * An error Express routes to `next(err)` after the stream opened (a synchronous throw in the handler, or a rejected
 * promise) is logged with the route's `logger` and ends the stream with reason `error`. Without
 * it, Express's final handler would destroy the socket and the client would see a network error. Any other error
 * (not on an SSE response, or raised before the stream opened, like the 400 for a malformed client id) is passed on
 * with `next(err)`.
 *
 * Express 4 does not catch rejected promises itself; on SSE routes `sse()` makes the handlers that follow it do so,
 * so an `async` handler's rejection reaches this middleware on Express 4 as on Express 5.
 */
export function sseErrors(): ErrorRequestHandler {
  return function sseErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction): void {
    const found = boundStream(res);
    if (found === undefined) {
      next(error);
      return;
    }
    routeHandlerFailed(found.route, found.stream, error);
  };
}
