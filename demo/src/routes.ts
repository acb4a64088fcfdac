import type { Socket } from 'node:net';
import { isSseError, type ResumableOptions, type SseStream } from '@ssekit/core';

/**
 * The demo's HTTP surface, described once without any framework: `express.ts` and `fastify.ts` each mount this same
 * table, so both servers answer the same paths with the same bytes.
 */

/** What a route sees of a request, whichever framework parsed it. */
export interface RouteRequest {
  /** Path parameters (`:clientId`), already decoded by the framework. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string, first value of each name. */
  readonly query: Readonly<Record<string, string>>;
  /** The TCP socket under the request: the demo's "drop connection" cuts it like a network failure would. */
  readonly socket: Socket;
}

/** An API request: a route request with its parsed body (JSON or a URL-encoded form; `undefined` when none). */
export interface ApiRequest extends RouteRequest {
  readonly body: unknown;
}

/** A JSON answer. */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** An SSE endpoint: the options both adapters take, and what to do once the stream is open. */
export interface SseRoute {
  readonly path: string;
  readonly clientId?: (req: RouteRequest) => string | undefined;
  readonly topics?: (req: RouteRequest) => string[];
  readonly heartbeat?: number;
  readonly timeout?: number;
  readonly retry?: number;
  /** Runs after the stream opened and any `Last-Event-ID` replay was written. */
  readonly handle: (stream: SseStream, req: RouteRequest) => void | Promise<void>;
}

/**
 * A `POST` SSE endpoint whose responses are resumable streams: a request without the stream key starts one (after
 * `validate` accepted its body, the handler runs); with the key, ssekit resumes or cancels it and nothing here runs.
 */
export interface ResumableRoute {
  readonly path: string;
  /** Without `owner` and `key`, which would see each framework's own request type. */
  readonly resumable: Omit<ResumableOptions, 'owner' | 'key'>;
  readonly retry?: number;
  /** Extra response headers of every request to the route, read per request. */
  readonly headers?: () => Record<string, string>;
  /** Checks the body of a request that starts a stream, before any SSE head: throws an `HttpError` (a 400). */
  readonly validate: (body: unknown) => void;
  /** Runs once the stream opened, with the parsed body; calls `stream.resumable(producer)`. */
  readonly handle: (stream: SseStream, req: ApiRequest) => Promise<void>;
}

/** A JSON endpoint. */
export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly handle: (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;
}

/** A file of the page, served as it is (no build step). */
export interface Asset {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** An error a route throws on purpose, answered with its status and message. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Logs what is not the client's fault. */
export interface DemoLogger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

/**
 * Runs an API route and turns every outcome into a JSON answer: an `HttpError` or a 400-flavoured ssekit error (a
 * malformed client id) becomes a 4xx that says what was wrong; anything else is logged and answered 500.
 */
export async function runApi(route: ApiRoute, req: ApiRequest, logger: DemoLogger): Promise<ApiResponse> {
  try {
    return await route.handle(req);
  } catch (error) {
    if (error instanceof HttpError) {
      return { status: error.statusCode, body: { error: error.code, message: error.message } };
    }
    if (isSseError(error) && 'statusCode' in error && typeof error.statusCode === 'number') {
      return { status: error.statusCode, body: { error: error.code, message: error.message } };
    }
    logger.error(`${route.method} ${route.path} failed`, error);
    return { status: 500, body: { error: 'INTERNAL', message: 'The server failed; see its log.' } };
  }
}

/** The first value of each query parameter, as frameworks hand them over (string, array, or nested object). */
export function firstValues(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === null || typeof query !== 'object') return out;
  for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[name] = first;
  }
  return out;
}
