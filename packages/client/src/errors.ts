/**
 * Why a client stopped or refused something. Each code names one cause; the message says what happened and what to
 * do.
 *
 * - `SSE_CLIENT_INVALID_OPTION`: `connect()` was given a bad argument (thrown synchronously).
 * - `SSE_CLIENT_HTTP_STATUS`: the server answered with a 4xx (or, for `cancel()`, any non-2xx) status.
 * - `SSE_CLIENT_CONTENT_TYPE`: a 2xx response that is not `text/event-stream`.
 * - `SSE_CLIENT_STREAM_ERROR`: a resumable stream ended with `ssekit-error`; `reason` says why.
 * - `SSE_CLIENT_STREAM_RESET`: the server could not resume a resumable stream from the client's position.
 * - `SSE_CLIENT_CONNECTION_LOST`: a stream that cannot be resumed (a request with a body on a route that is not
 *   resumable) dropped before it ended; reconnecting would send the body again.
 * - `SSE_CLIENT_RETRIES_EXHAUSTED`: `retry.maxAttempts` reconnects in a row failed; `cause` is the last failure.
 * - `SSE_CLIENT_INVALID_DATA`: the `parse` function threw on an event's data.
 * - `SSE_CLIENT_LISTENER_ERROR`: a callback or listener threw; `cause` is what it threw.
 * - `SSE_CLIENT_NOT_RESUMABLE`: `cancel()` on a stream whose key is not known.
 * - `SSE_CLIENT_ALREADY_ITERATED`: a second `for await` over the same client.
 */
export type SseClientErrorCode =
  | 'SSE_CLIENT_INVALID_OPTION'
  | 'SSE_CLIENT_HTTP_STATUS'
  | 'SSE_CLIENT_CONTENT_TYPE'
  | 'SSE_CLIENT_STREAM_ERROR'
  | 'SSE_CLIENT_STREAM_RESET'
  | 'SSE_CLIENT_CONNECTION_LOST'
  | 'SSE_CLIENT_RETRIES_EXHAUSTED'
  | 'SSE_CLIENT_INVALID_DATA'
  | 'SSE_CLIENT_LISTENER_ERROR'
  | 'SSE_CLIENT_NOT_RESUMABLE'
  | 'SSE_CLIENT_ALREADY_ITERATED';

/** What an {@link SseClientError} carries besides its code and message. */
export interface SseClientErrorDetails {
  /** The HTTP status of the response that caused it, when there was one. */
  status?: number | undefined;
  /** The `reason` of an `ssekit-error` or `ssekit-reset` event. */
  reason?: string | undefined;
  cause?: unknown;
}

/** The error a client reports through `onError`, `done`, the iterator and `cancel()`. */
export class SseClientError extends Error {
  override name = 'SseClientError';
  /** Machine-readable cause; stable across releases. */
  readonly code: SseClientErrorCode;
  /** The HTTP status of the response that caused it, when there was one. */
  readonly status: number | undefined;
  /** The `reason` of an `ssekit-error` or `ssekit-reset` event, when one caused it. */
  readonly reason: string | undefined;

  constructor(code: SseClientErrorCode, message: string, details: SseClientErrorDetails = {}) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.code = code;
    this.status = details.status;
    this.reason = details.reason;
  }
}
