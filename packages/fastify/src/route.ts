import { type Hub, isSseError, type SseStream, SseTypeError } from '@ssekit/core';
import {
  answerUnopened,
  endStream,
  openConnection,
  type ResolvedConnectOptions,
  resolveConnectOptions,
  runRouteHandler,
} from '@ssekit/core/adapter';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { handOver } from './hand-over.js';
import { bindStream } from './reply.js';
import type { SsekitFastifyOptions, SseRouteOptions } from './types.js';

/** What the plugin shares with every SSE route of its app. */
export interface SseApp {
  hub: Hub;
  defaults: SsekitFastifyOptions;
  /** Streams this app opened, whichever hub they joined; ended with reason `shutdown` on `app.close()`. */
  streams: Set<SseStream>;
  closing: boolean;
}

// Each app's `close` listener for its streams, one function per app rather than a closure per connection.
const forgetters = new WeakMap<SseApp, (this: SseStream) => void>();

function forgetterOf(app: SseApp): (this: SseStream) => void {
  let forget = forgetters.get(app);
  if (forget === undefined) {
    forget = function forget(this: SseStream): void {
      app.streams.delete(this);
    };
    forgetters.set(app, forget);
  }
  return forget;
}

type RouteHandler = (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * The `onRoute` hook: turns a route declared with `sse: true | options` into an SSE route. Its options (the
 * plugin's defaults, overridden by the route's) are validated now, so a mistake fails at startup.
 */
export function sseRoute(app: SseApp, routeOptions: RouteOptions): void {
  const value: unknown = routeOptions.sse;
  if (value === undefined || value === false) return;
  const where = `${String(routeOptions.method)} ${routeOptions.url}`;
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Route ${where}: the \`sse\` route option must be true, false or an options object, got ${typeof value}.`,
    );
  }
  let route: ResolvedConnectOptions<FastifyRequest>;
  try {
    route = resolveConnectOptions<FastifyRequest>(
      merge(app.defaults, value === true ? {} : (value as SseRouteOptions)),
    );
  } catch (error) {
    if (isSseError(error)) error.message = `Route ${where}: ${error.message}`;
    throw error;
  }
  const handler = routeOptions.handler as RouteHandler;
  const pattern = routeOptions.url;
  routeOptions.handler = async function sseRouteHandler(this: FastifyInstance, request, reply) {
    await serve(app, route, pattern, handler, this, request as FastifyRequest, reply as FastifyReply);
  };
}

function merge(defaults: SsekitFastifyOptions, route: SseRouteOptions): SsekitFastifyOptions {
  const merged = { ...defaults, ...route };
  // Header sets add up (a route adds one header to the app's), where every other option replaces the default.
  if (defaults.headers !== undefined && route.headers !== undefined) {
    merged.headers = { ...defaults.headers, ...route.headers };
  }
  return merged;
}

async function serve(
  app: SseApp,
  route: ResolvedConnectOptions<FastifyRequest>,
  pattern: string,
  handler: RouteHandler,
  instance: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  let stream: SseStream | undefined;
  let handedOver = false;
  try {
    stream = await openConnection(
      route.hub ?? app.hub,
      route,
      request,
      request.raw,
      reply.raw,
      () => {
        handOver(reply);
        handedOver = true;
      },
      pattern,
    );
  } catch (error) {
    if (handedOver) {
      // Fastify no longer answers a hijacked reply: without this, the request would never get a response.
      answerUnopened(reply.raw, error, route.stream.logger);
      return;
    }
    if (reply.sent || reply.raw.headersSent) {
      // Answered meanwhile (Fastify's handlerTimeout fired while clientId() was pending): nothing left to say.
      route.stream.logger.warn('[ssekit] the request was answered before its SSE stream could open.', error);
      return;
    }
    // Not answered yet: Fastify replies with the error's statusCode (400 for a malformed client id, 503 for a limit).
    throw error;
  }
  if (stream === undefined) return;
  const open = stream;
  app.streams.add(open);
  open.on('close', forgetterOf(app));
  if (app.closing) {
    endStream(open, 'shutdown');
    return;
  }
  bindStream(reply, open);
  await runRouteHandler(route, open, () => handler.call(instance, request, reply));
}
