/**
 * Error codes ssekit throws. Each names one mistake; the message says what was wrong and what to do.
 */
export type SseErrorCode =
  | 'SSE_INVALID_FIELD'
  | 'SSE_INVALID_RETRY'
  | 'SSE_INVALID_DATA'
  | 'SSE_SERIALIZE_FAILED'
  | 'SSE_INVALID_OPTION'
  | 'SSE_INVALID_CLIENT_ID'
  | 'SSE_INVALID_TOPIC'
  | 'SSE_INVALID_SOURCE'
  | 'SSE_HUB_CLOSED'
  | 'SSE_TOO_MANY_CONNECTIONS'
  | 'SSE_BROKER_UNAVAILABLE'
  | 'SSE_ALREADY_ATTACHED'
  | 'SSE_NO_STREAM'
  | 'SSE_INVALID_STREAM_KEY'
  | 'SSE_INVALID_STREAM_REQUEST'
  | 'SSE_STREAM_NOT_FOUND'
  | 'SSE_STREAM_EXPIRED'
  | 'SSE_STREAM_FORBIDDEN'
  | 'SSE_STREAM_EXISTS'
  | 'SSE_NOT_RESUMABLE';

/** Fields every ssekit error carries, whichever built-in error class it extends. */
export interface SseErrorFields {
  /** Machine-readable reason; stable across releases. */
  readonly code: SseErrorCode;
  /**
   * The HTTP status a framework should answer with when this error happens while accepting a connection
   * (Express and Fastify both read `statusCode`). Absent for programmer mistakes, which are 500s.
   */
  readonly statusCode?: number;
}

/** A general ssekit error: a bad option, a closed hub, an unavailable broker. */
export class SseError extends Error implements SseErrorFields {
  override name = 'SseError';
  readonly code: SseErrorCode;
  readonly statusCode?: number;

  constructor(code: SseErrorCode, message: string, options?: { cause?: unknown; statusCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/** A value of the wrong shape (an `id` with a newline, data that is `undefined`). Also a `TypeError`. */
export class SseTypeError extends TypeError implements SseErrorFields {
  override name = 'SseTypeError';
  readonly code: SseErrorCode;
  readonly statusCode?: number;

  constructor(code: SseErrorCode, message: string, options?: { cause?: unknown; statusCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.statusCode !== undefined) this.statusCode = options.statusCode;
  }
}

/** A number out of range (a negative `retry`, a zero buffer limit). Also a `RangeError`. */
export class SseRangeError extends RangeError implements SseErrorFields {
  override name = 'SseRangeError';
  readonly code: SseErrorCode;

  constructor(code: SseErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** True for any error ssekit threw on purpose (all three classes). */
export function isSseError(err: unknown): err is (SseError | SseTypeError | SseRangeError) & SseErrorFields {
  return err instanceof SseError || err instanceof SseTypeError || err instanceof SseRangeError;
}
