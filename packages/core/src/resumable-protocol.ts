import { randomBytes } from 'node:crypto';
import { SseError, SseTypeError } from './errors.js';
import { readLastEventId } from './last-event-id.js';
import type { SseRequest } from './stream.js';
import { describe } from './validate.js';

// The wire names of resumable streams (docs/protocol.md). @ssekit/client re-declares them: it imports no server code.

/** Request and response header that carries a resumable stream's key (lower case, as Node reports headers). */
export const STREAM_KEY_HEADER = 'ssekit-stream-key';
/** Request header that asks for an action on a resumable stream: `cancel`. */
export const STREAM_ACTION_HEADER = 'ssekit-stream-action';
/** The first event of every resumable stream; data `{"key":"<key>"}`. */
export const STREAM_EVENT = 'ssekit-stream';
/** The terminal event of a resumable stream whose producer finished; data `{}`. */
export const DONE_EVENT = 'ssekit-done';
/** The terminal event of a resumable stream that ended otherwise; data `{"reason", "message"?}`. */
export const ERROR_EVENT = 'ssekit-error';

/** Longest stream key accepted, in characters. */
export const MAX_STREAM_KEY_LENGTH = 256;

// Visible ASCII: a key travels in a header and in store keys, and is compared byte for byte.
const KEY = /^[\x21-\x7e]+$/;
const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/** A new stream key: 128 random bits, base64url (22 characters). */
export function randomStreamKey(): string {
  return randomBytes(16).toString('base64url');
}

/** True for a well-formed stream key. */
export function isStreamKey(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_STREAM_KEY_LENGTH && KEY.test(value);
}

/** Throws a typed error (`SSE_INVALID_STREAM_KEY`) unless `value` is a well-formed stream key. */
export function assertStreamKey(value: unknown, statusCode?: number): asserts value is string {
  if (isStreamKey(value)) return;
  throw new SseTypeError(
    'SSE_INVALID_STREAM_KEY',
    `A stream key must be 1 to ${MAX_STREAM_KEY_LENGTH} visible ASCII characters (no spaces), got ${describe(value)}.`,
    statusCode === undefined ? undefined : { statusCode },
  );
}

/** What a request to a resumable route asks for. */
export type StreamRequest =
  | { readonly action: 'start' }
  | { readonly action: 'resume'; readonly key: string; readonly after: number }
  | { readonly action: 'cancel'; readonly key: string };

/**
 * Reads the key, action and position headers of a request to a resumable route.
 * @throws SseTypeError with statusCode 400 for a malformed key, action or `Last-Event-ID`.
 */
export function readStreamRequest(req: SseRequest): StreamRequest {
  const key = single(req.headers[STREAM_KEY_HEADER]);
  const action = single(req.headers[STREAM_ACTION_HEADER]);
  if (action !== undefined && action !== 'cancel') {
    throw badRequest(`Header Ssekit-Stream-Action must be "cancel", got ${describe(action)}.`);
  }
  if (key === undefined) {
    if (action !== undefined)
      throw badRequest('Header Ssekit-Stream-Action needs the Ssekit-Stream-Key of the stream.');
    return { action: 'start' };
  }
  assertStreamKey(key, 400);
  if (action === 'cancel') return { action: 'cancel', key };
  const last = readLastEventId(req);
  if (last.invalid || (last.id !== undefined && !SEQ.test(last.id))) {
    throw badRequest(
      'Last-Event-ID of a resumable stream must be the id of an event it sent (a whole number), or absent.',
    );
  }
  const after = last.id === undefined ? 0 : Number(last.id);
  if (!Number.isSafeInteger(after)) throw badRequest('Last-Event-ID is too large.');
  return { action: 'resume', key, after };
}

function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > 1) throw badRequest('Ssekit-Stream-* headers must appear once.');
    return value[0];
  }
  return value;
}

function badRequest(message: string): SseTypeError {
  return new SseTypeError('SSE_INVALID_STREAM_REQUEST', message, { statusCode: 400 });
}

/** The error a resume or cancel of a key the store does not know is answered with (404). */
export function unknownStream(): SseError {
  return new SseError(
    'SSE_STREAM_NOT_FOUND',
    'No resumable stream has this key: it never existed, or it expired a while ago. Start a new one.',
    { statusCode: 404 },
  );
}

/** The error for a key whose stream expired recently (410). */
export function expiredStream(): SseError {
  return new SseError(
    'SSE_STREAM_EXPIRED',
    'This resumable stream has expired: it can no longer be read. Start a new one.',
    { statusCode: 410 },
  );
}

/** The error for a request whose owner is not the stream's (403). */
export function forbiddenStream(): SseError {
  return new SseError('SSE_STREAM_FORBIDDEN', 'This request may not read or cancel this resumable stream.', {
    statusCode: 403,
  });
}
