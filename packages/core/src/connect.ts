import type { ServerResponse } from 'node:http';
import { endStream } from './end-stream.js';
import { SseTypeError } from './errors.js';
import type { Hub } from './hub.js';
import { countRefusal } from './hub-refusals.js';
import { answerRefusal } from './limits.js';
import { skipsHandler } from './resumable-binding.js';
import { openResumable, type ResolvedResumable, type ResumableOptions, resolveResumable } from './resumable-route.js';
import { createStream, type SseRequest, type SseResponse, type SseStream } from './stream.js';
import { type Logger, type ResolvedStreamOptions, resolveStreamOptions, type StreamOptions } from './stream-options.js';
import { setStreamRoute } from './stream-route.js';
import { assertClientId, describe, functionOption, normalizeTopics } from './validate.js';

/**
 * Options of an SSE route, shared by the Express middleware and the Fastify plugin. `Req` is the framework's
 * request type, so `clientId(req)` sees `req.user`, `req.params` and friends.
 */
export interface ConnectOptions<Req = SseRequest> extends StreamOptions {
  /** The hub this route's connections join. Adapters default to their own shared hub. */
  hub?: Hub;
  /**
   * The connection's client id, from the app's own authentication (never trust a raw query parameter for this).
   * `undefined` for an anonymous connection. A malformed id (empty, too long, control characters, not a string) is
   * answered 400 before the stream opens.
   */
  clientId?: (req: Req) => string | undefined | null | Promise<string | undefined | null>;
  /**
   * Topics to subscribe at connect; the place to authorize them. Malformed topics are answered 400. An array, a
   * `Set` or another iterable object of names: a bare string is a type error (it would be taken letter by letter).
   */
  topics?: (req: Req) => TopicList | undefined | null | Promise<TopicList | undefined | null>;
  /**
   * The route's pattern in the hub's metrics (attribute `http.route` of `ssekit.connections`), e.g.
   * `/rooms/:id/events`. Adapters default to the framework's pattern (Express: the route's path; Fastify: the
   * route's URL); set it where there is none (Express middleware mounted with `app.use()`). A pattern, never the
   * request's path: every distinct value is a series of its own.
   */
  route?: string;
  /**
   * Makes the route's responses resumable streams, read from a bounded, expiring log by the request that started
   * one and by any reconnect with its key (docs/streaming-responses.md); `true` for the defaults. Its handler runs
   * for a request that starts a stream and calls `res.sse.resumable(producer)`. Cannot be combined with `topics`.
   */
  resumable?: boolean | ResumableOptions<Req>;
}

/** The topics a route's `topics()` returns: any iterable of names except a bare string. */
export type TopicList = Iterable<string> & object;

/** Route options after validation: adapters resolve them once, when the route is set up. */
export interface ResolvedConnectOptions<Req = SseRequest> {
  readonly hub: Hub | undefined;
  readonly clientId: ConnectOptions<Req>['clientId'];
  readonly topics: ConnectOptions<Req>['topics'];
  readonly route: string | undefined;
  readonly stream: ResolvedStreamOptions;
  readonly resumable: ResolvedResumable<Req> | undefined;
}

const ROUTE_KEYS = ['hub', 'clientId', 'topics', 'route', 'resumable'] as const;

/**
 * Validates route options once. Unknown keys, bad durations or sizes and non-function callbacks throw here, when
 * the route is created, not on the first request.
 */
export function resolveConnectOptions<Req>(
  options: ConnectOptions<Req> = {},
  extraKeys: readonly string[] = [],
): ResolvedConnectOptions<Req> {
  if (options === null || typeof options !== 'object') {
    throw new SseTypeError('SSE_INVALID_OPTION', `SSE route options must be an object, got ${describe(options)}.`);
  }
  const { hub, clientId, topics, route, resumable, ...streamOptions } = options;
  if (hub !== undefined && (hub === null || typeof hub !== 'object' || typeof hub.attach !== 'function')) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`hub\` must be a hub from createHub(), got ${describe(hub)}.`,
    );
  }
  const extra = Object.fromEntries(extraKeys.map((key) => [key, true]));
  const stream = resolveStreamOptions(
    Object.fromEntries(Object.entries(streamOptions).filter(([key]) => !(key in extra))) as StreamOptions,
    [...ROUTE_KEYS, ...extraKeys],
  );
  const resolvedResumable = resolveResumable<Req>(resumable);
  if (resolvedResumable !== undefined && topics !== undefined) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      'Options `resumable` and `topics` cannot be combined: a resumable stream carries its own events only.',
    );
  }
  return {
    hub,
    clientId: functionOption('clientId', clientId),
    topics: functionOption('topics', topics),
    route: checkRoute(route),
    stream,
    resumable: resolvedResumable,
  };
}

function checkRoute(route: unknown): string | undefined {
  if (route === undefined) return undefined;
  if (typeof route !== 'string' || route.length === 0 || route.length > 256 || /[\u0000-\u001f\u007f]/.test(route)) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`route\` must be a route pattern of 1 to 256 characters without control characters, got ${describe(route)}.`,
    );
  }
  return route;
}

/**
 * Accepts one SSE request for an adapter: asks the app for the client id and topics, validates them (400 on a
 * malformed one), applies the hub's connection limits, opens the stream and registers it (replaying what the client
 * missed when it sent `Last-Event-ID`).
 *
 * On a `resumable` route it serves the request as the protocol says (docs/protocol.md): a start (the stream's key
 * in the `Ssekit-Stream-Key` head), a resume (the stream read from the log; the handler must not run, which
 * {@link runRouteHandler} knows), or a cancel (answered 204, no stream); 400/403/404/409/410 are thrown before
 * anything is written, as errors with that `statusCode`.
 *
 * A `HEAD` request gets the SSE head and an immediate end: the status and headers a `GET` would have, no stream.
 *
 * @param beforeOpen called synchronously once the request is accepted, right before anything is written (the SSE
 *   head, or a limit's `retry` answer); an adapter hands the raw response over to ssekit there (Fastify's hijack).
 *   Not called when this function throws before writing.
 * @returns the open stream; or `undefined` when the request was answered without a stream (a connection limit's
 *   `retry` hint, a `HEAD` request, or a stream that could not join the hub and was ended with reason `error`):
 *   the adapter must then not run the route handler.
 * @throws before anything is written: the app's own `clientId()`/`topics()` errors, an `SseTypeError` with
 *   `statusCode` 400 for malformed ids, an `SseError` with `statusCode` 503/429 for a limit answered by status;
 *   after `beforeOpen`, whatever kept the head from being written (a hook on the response that throws). An adapter
 *   that took the response over in `beforeOpen` must then answer itself: {@link answerUnopened}.
 * @param pattern the framework's pattern of the route (Express: `req.route.path`; Fastify: the route's URL), for the
 *   metrics' `http.route`; the route's own `route` option wins.
 */
export async function openConnection<Req>(
  hub: Hub,
  route: ResolvedConnectOptions<Req>,
  appRequest: Req,
  req: SseRequest,
  res: SseResponse,
  beforeOpen?: () => void,
  pattern?: string,
): Promise<SseStream | undefined> {
  const rawId = route.clientId === undefined ? undefined : await route.clientId(appRequest);
  const clientId = rawId === null ? undefined : rawId;
  if (clientId !== undefined) assertClientId(clientId);
  const rawTopics = route.topics === undefined ? undefined : await route.topics(appRequest);
  const topics = rawTopics === undefined || rawTopics === null ? [] : normalizeTopics(toArray(rawTopics));

  if (req.method === 'HEAD') {
    // Frameworks route HEAD to GET handlers; a stream there would never end, as a HEAD response has no body.
    beforeOpen?.();
    createStream(req, res, route.stream, clientId).close();
    return undefined;
  }

  const refused = (): boolean => {
    const refusal = hub.admit(clientId);
    if (refusal === undefined) return false;
    countRefusal(hub, refusal);
    answerRefusal(refusal, hub.limitResponse, req, res, route.stream, clientId, beforeOpen);
    return true;
  };
  if (route.resumable !== undefined) {
    const resumable = route.resumable;
    return openResumable({
      hub,
      resumable,
      options: route.stream,
      appRequest,
      req,
      res,
      clientId,
      refused,
      beforeOpen,
      route: route.route ?? pattern,
    });
  }
  if (refused()) return undefined;

  beforeOpen?.();
  const stream = createStream(req, res, route.stream, clientId);
  const httpRoute = route.route ?? pattern;
  if (httpRoute !== undefined) setStreamRoute(stream, httpRoute);
  try {
    await hub.attach(stream, topics);
  } catch (error) {
    // The head is out: the request is answered by ending the stream (the client reconnects), not by a status.
    logQuietly(
      route.stream.logger,
      '[ssekit] the SSE stream could not join its hub; it ends with reason "error".',
      error,
    );
    endStream(stream, 'error', error);
    return undefined;
  }
  return stream;
}

/**
 * Answers a request whose SSE stream could not open after the adapter had taken the response over from its framework
 * (Fastify's hijack), so that the framework will not answer it: logs `error`, then answers with its `statusCode`
 * (500 unless it carries a 4xx/5xx one), or destroys the connection when the head was already (partly) sent or
 * cannot be written. Never throws.
 */
export function answerUnopened(res: SseResponse, error: unknown, logger: Logger): void {
  logQuietly(logger, '[ssekit] the SSE stream could not open; the request is answered with an error status.', error);
  if (res.writableEnded) return;
  try {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const given = (error as { statusCode?: unknown } | null)?.statusCode;
    const status = typeof given === 'number' && given >= 400 && given <= 599 ? given : 500;
    const body = status >= 500 ? 'Internal Server Error' : String((error as Error).message);
    (res as ServerResponse).writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  } catch {
    res.destroy();
  }
}

function logQuietly(logger: Logger, message: string, error: unknown): void {
  try {
    logger.error(message, error);
  } catch {
    // A broken logger must not leave the request unanswered.
  }
}

/**
 * Runs an SSE route's handler once its stream is open (not for a request that resumes a resumable stream). A synchronous throw or a rejection must not crash the process
 * nor leave the client hanging: it is logged with the route's logger and the stream ends with reason `error`.
 * Resolves when the handler has settled; never rejects.
 */
export async function runRouteHandler<Req>(
  route: ResolvedConnectOptions<Req>,
  stream: SseStream,
  handler: () => unknown,
): Promise<void> {
  // A resume of a resumable stream is served from its log: the handler ran once, for the request that started it.
  if (skipsHandler(stream)) return;
  try {
    await handler();
  } catch (error) {
    routeHandlerFailed(route, stream, error);
  }
}

/**
 * Reports an error the app raised after the stream opened (its handler threw, or the framework caught it): logs it
 * with the route's logger and ends the stream with reason `error`. Never throws.
 */
export function routeHandlerFailed<Req>(route: ResolvedConnectOptions<Req>, stream: SseStream, error: unknown): void {
  try {
    route.stream.logger.error(
      stream.closed
        ? '[ssekit] the SSE route handler failed after its stream had ended.'
        : '[ssekit] the SSE route handler failed after the stream opened; the stream ends with reason "error".',
      error,
    );
  } catch {
    // A broken logger must not keep the stream open.
  }
  endStream(stream, 'error', error);
}

function toArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') {
    throw new SseTypeError(
      'SSE_INVALID_TOPIC',
      'topics() must return an array (or iterable) of topic names, got a single string. Wrap it: [topic].',
      { statusCode: 400 },
    );
  }
  if (value !== null && typeof value === 'object' && Symbol.iterator in value) return [...(value as Iterable<unknown>)];
  throw new SseTypeError('SSE_INVALID_TOPIC', `topics() must return an array of topic names, got ${describe(value)}.`, {
    statusCode: 400,
  });
}
