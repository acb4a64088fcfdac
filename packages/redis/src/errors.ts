import { SseError } from '@ssekit/core';
import { ErrorReply } from 'redis';
import { CommandTimeoutError } from './connection.js';

/** The error every method of a closed broker throws. */
export function closedError(): SseError {
  return new SseError('SSE_HUB_CLOSED', 'This Redis broker is closed; it no longer accepts events.');
}

/**
 * The error a caller sees when Redis cannot take an event. `offline`: nothing was sent. `sent`: the command was sent
 * but not confirmed, so the event may or may not be in the stream.
 */
export function unavailable(cause: unknown, stage: 'offline' | 'sent'): SseError {
  if (cause instanceof SseError) return cause;
  const detail = cause instanceof Error ? cause.message : cause === undefined ? 'not connected' : String(cause);
  if (isReplyError(cause)) {
    return new SseError('SSE_BROKER_UNAVAILABLE', `Redis refused the command: ${detail}`, { cause, statusCode: 503 });
  }
  let message: string;
  if (stage === 'offline') {
    message = `Redis is not reachable (${detail}), so nothing was sent. Retry once it is back (broker.connected tells).`;
  } else if (cause instanceof CommandTimeoutError) {
    message = `The command timed out: Redis did not answer within ${cause.ms} ms (commandTimeout), so the event may or may not have been stored. To retry without a duplicate, publish again with the same idempotencyKey.`;
  } else {
    message = `Redis did not confirm the command (the connection failed while it was pending: ${detail}), so the event may or may not have been stored. To retry without a duplicate, publish again with the same idempotencyKey.`;
  }
  return new SseError('SSE_BROKER_UNAVAILABLE', message, { cause, statusCode: 503 });
}

/** True for an error Redis answered with (`ERR …`, `WRONGTYPE …`), as opposed to a connection failure. */
export function isReplyError(error: unknown): error is Error {
  // By class name as well: a `client` template may come from another copy of node-redis than this package's.
  return (
    error instanceof ErrorReply ||
    (error instanceof Error && REPLY_ERROR_CLASSES.has((error.constructor as { name?: string }).name ?? ''))
  );
}

const REPLY_ERROR_CLASSES = new Set(['ErrorReply', 'SimpleError', 'BlobError']);

/** A short description of an unexpected reply, for an error message. */
export function describeReply(reply: unknown): string {
  if (reply === null) return 'null';
  if (Array.isArray(reply)) return 'a list';
  return typeof reply === 'string' ? JSON.stringify(reply.slice(0, 40)) : typeof reply;
}
