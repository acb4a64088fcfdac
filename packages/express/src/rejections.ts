import type { NextFunction, Request, Response } from 'express';

/** A layer of an Express route's stack, as Express 4 (`handle_request`) and Express 5 (`handleRequest`) build it. */
interface RouteLayer {
  handle?: unknown;
  method?: string;
  handle_request?: unknown;
  handleRequest?: unknown;
}

type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

// Handlers already wrapped (or wrappers themselves), so that a layer is wrapped once however many requests pass.
const wrapped = new WeakSet<object>();

/**
 * Express 4 ignores what a handler returns, so a rejected promise from an `async` handler after `sse()` would be
 * unhandled and its stream would stay open. On a router that does not catch promises (Express 4's layers have
 * `handle_request`; Express 5's `handleRequest` catches them), this wraps the handlers that follow `middleware` in
 * the matched route so a rejection goes to `next(err)`, as Express 5 does: `sseErrors()` then ends the stream with
 * reason `error` and logs it.
 */
export function catchLaterRejections(req: Request<unknown>, middleware: unknown): void {
  const stack = (req.route as { stack?: RouteLayer[] } | undefined)?.stack;
  if (!Array.isArray(stack)) return;
  const index = stack.findIndex((layer) => layer.handle === middleware);
  if (index === -1 || !catchesNoPromises(stack[index] as RouteLayer)) return;
  for (let i = index + 1; i < stack.length; i++) {
    const layer = stack[i] as RouteLayer;
    const handle = layer.handle;
    // Four parameters make an error handler, which Express 4 calls differently; those are left alone.
    if (typeof handle !== 'function' || handle.length > 3 || wrapped.has(handle)) continue;
    const wrapper = forwardRejection(handle as Handler);
    wrapped.add(handle);
    wrapped.add(wrapper);
    layer.handle = wrapper;
  }
}

function catchesNoPromises(layer: RouteLayer): boolean {
  return typeof layer.handle_request === 'function' && typeof layer.handleRequest !== 'function';
}

function forwardRejection(handle: Handler): Handler {
  return function sseCatchRejection(this: unknown, req: Request, res: Response, next: NextFunction): unknown {
    const result = handle.call(this, req, res, next);
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
        // A rejection without a reason still has to reach the error handlers, as Express 5 does it.
        next(error ?? new Error('Rejected promise returned by an SSE route handler'));
      });
    }
    return result;
  };
}
