import { type Hub, type SseStream, SseTypeError } from '@ssekit/core';
import {
  openConnection,
  type ResolvedConnectOptions,
  resolveConnectOptions,
  runRouteHandler,
} from '@ssekit/core/adapter';
import type { NextFunction, Request, Response } from 'express';
import { hub as defaultHub } from './default-hub.js';
import { catchLaterRejections } from './rejections.js';
import { bindStream } from './response.js';
import type { NamedParams, SseHandler, SseOptions } from './types.js';

/**
 * The middleware `sse()` returns. Generic in the route's params, so that in `app.get('/x/:id', sse(), handler)`
 * Express still infers `req.params.id` for `handler` from the path.
 */
export type SseMiddleware = <P>(req: Request<P>, res: Response, next: NextFunction) => void;

/**
 * Creates the middleware of one SSE route. Options are validated here, once: a bad option throws when the route is
 * declared, not on the first request.
 *
 * Per request it asks `clientId(req)` and `topics(req)`, answers a malformed id with a 400 through `next(err)`
 * (before any header is written), opens the stream (status 200 and the SSE headers at once), registers it with the
 * hub (replaying what a resuming client missed) and exposes it as `res.sse`. Then it runs `handler`; without one it
 * calls `next()`, unless nothing follows it in its route (`app.get(path, sse(options))`: the stream stays open for
 * the hub to write to).
 *
 * @param options route options; see {@link SseOptions}. `P` types `req.params` in `clientId`/`topics` (default:
 *   named string params; pass e.g. `sse<{ path: string[] }>()` for an Express 5 wildcard).
 * @param handler optional: the route's handler, run with `res.sse` open. Its errors (a throw or a rejection, on
 *   Express 4 and 5 alike) end the stream with reason `error` and are logged. Without it, put your handler after
 *   the middleware and add {@link sseErrors} to the app for the same treatment of errors.
 * @throws SseTypeError/SseRangeError for an invalid option or a handler that is not a function.
 */
export function sse<P = NamedParams>(options?: SseOptions<P>, handler?: SseHandler<P>): SseMiddleware {
  const route = resolveConnectOptions<Request<P>>(options);
  if (handler !== undefined && typeof handler !== 'function') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `sse(options, handler): the handler must be a function, got ${handler === null ? 'null' : typeof handler}.`,
    );
  }
  const hub = route.hub ?? defaultHub;
  const middleware = function sseMiddleware(req: Request<unknown>, res: Response, next: NextFunction): void {
    accept(route, hub, handler, middleware, req as unknown as Request<P>, res, next).catch((error: unknown) => {
      // Only Express's own next() could get here; the request is beyond saving, the process is not.
      route.stream.logger.error('[ssekit] an SSE request failed outside the route handler.', error);
    });
  };
  return middleware as SseMiddleware;
}

async function accept<P>(
  route: ResolvedConnectOptions<Request<P>>,
  hub: Hub,
  handler: SseHandler<P> | undefined,
  middleware: unknown,
  req: Request<P>,
  res: Response,
  next: NextFunction,
): Promise<void> {
  let stream: SseStream | undefined;
  try {
    stream = await openConnection(hub, route, req, req, res, undefined, routePattern(req));
  } catch (error) {
    // Nothing was written yet: Express answers with the error's statusCode (400 for a malformed id).
    next(error);
    return;
  }
  if (stream === undefined) return;
  bindStream(res, stream, route);
  catchLaterRejections(req as Request<unknown>, middleware);
  if (handler !== undefined) {
    await runRouteHandler(route, stream, () => handler(req, res, next));
  } else if (!endsItsRoute(req, middleware)) {
    await runRouteHandler(route, stream, () => next());
  }
}

/** The matched route's path pattern (`/rooms/:id`), for the metrics' `http.route`; none under `app.use()`. */
function routePattern(req: Request<unknown>): string | undefined {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : undefined;
}

interface RouteLayer {
  handle?: unknown;
  method?: string;
}

/**
 * True when no handler follows `middleware` in the matched route for this method. Calling `next()` there would fall
 * through to the app's catch-all 404 middleware, if it has one, which would try to answer over the open stream.
 */
function endsItsRoute(req: Request<unknown>, middleware: unknown): boolean {
  const stack = (req.route as { stack?: RouteLayer[] } | undefined)?.stack;
  if (!Array.isArray(stack)) return false;
  const index = stack.findIndex((layer) => layer.handle === middleware);
  if (index === -1) return false;
  const method = req.method.toLowerCase();
  return !stack.slice(index + 1).some((layer) => layer.method === undefined || layer.method === method);
}
