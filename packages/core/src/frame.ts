import { SseRangeError, SseTypeError } from './errors.js';
import { MAX_LAST_EVENT_ID_LENGTH } from './last-event-id.js';
import { describe, isWellFormed } from './validate.js';

/** Turns a non-string `data` value into the text of the event. Must return a string. */
export type Serializer = (data: unknown) => string;

/**
 * What can be sent as an event's data: anything but `undefined`, which clients could never receive (an event
 * without data is not dispatched). Strings go out as they are; bytes (`Buffer`, `Uint8Array`, any `ArrayBuffer`
 * view, an `ArrayBuffer`) as their UTF-8 text; anything else through the serializer (JSON by default).
 */
export type EventData = {} | null;

/**
 * A `retry` delay in milliseconds. With a number literal, a negative one is a type error (`retry: -1`); other
 * numbers are checked at run time.
 */
export type RetryDelay<N extends number = number> = number extends N ? number : `${N}` extends `-${string}` ? never : N;

/** One message on the wire. Every field is optional; see {@link formatEvent} for the exact bytes. */
export interface SseMessage {
  /**
   * The payload. Strings go out as they are; bytes (`Buffer`, typed arrays, `ArrayBuffer`) as their UTF-8 text, as
   * `pipe()` sends them; anything else goes through the serializer (JSON by default).
   */
  data?: EventData;
  /** The event type; the client dispatches it to `addEventListener(event, …)`. No CR or LF. */
  event?: string;
  /**
   * The event id, which becomes the client's `Last-Event-ID`: printable ASCII (U+0020 to U+007E) without leading or
   * trailing spaces, at most {@link MAX_LAST_EVENT_ID_LENGTH} characters, so that every client can send it back.
   */
  id?: string | number;
  /** The client's reconnection delay in milliseconds: a non-negative whole number. */
  retry?: number;
  /** A comment: ignored by clients, useful as a keep-alive or for debugging. */
  comment?: string;
}

/** The per-event fields `send()`, `publish()` and `broadcast()` accept beside the data. */
export interface SendOptions<R extends number = number> {
  event?: string;
  /** See {@link SseMessage.id}. */
  id?: string | number;
  retry?: RetryDelay<R>;
  /**
   * Makes a retried publish safe, on brokers that support it: every attempt of one event carries the same key (an
   * id the app already has for the event, or a UUID made once), and the broker stores the event once per key. With
   * `@ssekit/redis`, a publish that repeats the key of one stored within its `idempotencyWindow` (default 5 minutes)
   * stores nothing and resolves with the first one's id, so a publish that failed with "may or may not have been
   * stored" (a timeout) can be retried without a duplicate. The in-memory broker ignores it: its publish cannot fail
   * once it started, so there is no attempt to repeat. `stream.send()` checks it and ignores it too (a write to one
   * connection is never retried). A non-empty string of at most 256 characters, well-formed UTF-16.
   */
  idempotencyKey?: string;
}

/** Longest `idempotencyKey`, in UTF-16 code units. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

const MESSAGE_KEYS = new Set(['data', 'event', 'id', 'retry', 'comment']);
const SEND_OPTION_KEYS = new Set(['event', 'id', 'retry', 'idempotencyKey']);

/** The default serializer: `JSON.stringify`, with errors that say what to do. */
export const jsonSerializer: Serializer = (data) => JSON.stringify(data);

const NEWLINE = /\r\n|\r|\n/;

function hasNewline(s: string): boolean {
  return s.indexOf('\n') !== -1 || s.indexOf('\r') !== -1;
}

/** Appends `prefix + line + "\n"` for each line of `text`, splitting on CRLF, CR and LF. */
function lines(prefix: string, text: string): string {
  if (!hasNewline(text)) return `${prefix}${text}\n`;
  let out = '';
  for (const line of text.split(NEWLINE)) out += `${prefix}${line}\n`;
  return out;
}

/** Checks an `event` name. Throws a `TypeError` (code `SSE_INVALID_FIELD`) that names the field. */
export function checkEvent(event: unknown): asserts event is string {
  if (typeof event !== 'string') {
    throw new SseTypeError('SSE_INVALID_FIELD', `Field \`event\` must be a string, got ${describe(event)}.`);
  }
  if (hasNewline(event)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'Field `event` must not contain CR or LF: a newline would end the field and inject another. Use a single-line name.',
    );
  }
  if (!isWellFormed(event)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'Field `event` contains a lone UTF-16 surrogate: it cannot be encoded as UTF-8, so clients would get another name. Use well-formed text.',
    );
  }
}

// What a client can send back in a `Last-Event-ID` header: browsers' fetch and the `eventsource` package need a
// ByteString, HTTP trims spaces at either end of a header value, and bytes above 0x7E arrive as Latin-1 that no
// server can tell from UTF-8.
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/**
 * Checks an `id` and returns it as a string. Throws a `TypeError` (code `SSE_INVALID_FIELD`) naming the field.
 *
 * An id must come back intact as the client's `Last-Event-ID` header, or resume breaks: only printable ASCII
 * (U+0020 to U+007E), no space at either end, at most {@link MAX_LAST_EVENT_ID_LENGTH} characters. Encode other
 * ids first, e.g. with `encodeURIComponent(id)`.
 */
export function checkId(id: unknown): string {
  if (typeof id === 'number') {
    if (!Number.isFinite(id)) {
      throw new SseTypeError('SSE_INVALID_FIELD', `Field \`id\` must be a finite number or a string, got ${id}.`);
    }
    return String(id);
  }
  if (typeof id !== 'string') {
    throw new SseTypeError('SSE_INVALID_FIELD', `Field \`id\` must be a string or a number, got ${describe(id)}.`);
  }
  if (hasNewline(id)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'Field `id` must not contain CR or LF: a newline would end the field and inject another. Use a single-line id.',
    );
  }
  if (id.indexOf('\0') !== -1) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'Field `id` must not contain NUL (U+0000): clients ignore such an id, so resume would silently break.',
    );
  }
  if (!HEADER_SAFE.test(id)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      `Field \`id\` ${describe(id)} has a character outside printable ASCII (U+0020 to U+007E): the client sends the id back in the Last-Event-ID header, which cannot carry it, so resume would break. Encode the id, e.g. with encodeURIComponent(id).`,
    );
  }
  if (id.length > 0 && (id.charCodeAt(0) === 0x20 || id.charCodeAt(id.length - 1) === 0x20)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      `Field \`id\` ${describe(id)} starts or ends with a space: HTTP trims header values, so the client's Last-Event-ID would not match. Trim it, or encode it (e.g. with encodeURIComponent(id)).`,
    );
  }
  if (id.length > MAX_LAST_EVENT_ID_LENGTH) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      `Field \`id\` is ${id.length} characters long; at most ${MAX_LAST_EVENT_ID_LENGTH} are allowed, the longest Last-Event-ID a resuming client is served by. Use a shorter id.`,
    );
  }
  return id;
}

/** Checks a `retry` delay. Throws a `RangeError` (code `SSE_INVALID_RETRY`). */
export function checkRetry(retry: unknown): asserts retry is number {
  if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
    throw new SseRangeError(
      'SSE_INVALID_RETRY',
      `Field \`retry\` must be a non-negative whole number of milliseconds, got ${describe(retry)}.`,
    );
  }
}

const utf8 = new TextDecoder();

/**
 * Serializes `data` to the text of an event: a string as it is; bytes (`Buffer`, `Uint8Array`, any other
 * `ArrayBuffer` view, an `ArrayBuffer`) decoded as UTF-8, as `pipe()` does (malformed sequences become U+FFFD);
 * anything else through `serializer`. Throws `SSE_SERIALIZE_FAILED` or `SSE_INVALID_DATA`.
 */
export function serializeData(data: unknown, serializer: Serializer = jsonSerializer): string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return utf8.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (data instanceof ArrayBuffer) return utf8.decode(data);
  if (data === undefined) {
    throw new SseTypeError(
      'SSE_INVALID_DATA',
      'Cannot send `undefined` as data: clients never dispatch an event without data. Send "" for an empty event, or null.',
    );
  }
  let text: unknown;
  try {
    text = serializer(data);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new SseTypeError(
      'SSE_SERIALIZE_FAILED',
      `Could not serialize event data (${describe(data)}): ${why}. Convert it to a string or a JSON-safe value first, or pass a \`serializer\` that handles it.`,
      { cause },
    );
  }
  if (typeof text !== 'string') {
    throw new SseTypeError(
      'SSE_SERIALIZE_FAILED',
      `The serializer returned ${describe(text)} instead of a string for ${describe(data)}. A serializer must return a string.`,
    );
  }
  return text;
}

/** Rejects unknown keys in a message or send options: a typo such as `evnt` must not be silently ignored. */
function checkKeys(where: string, value: object, allowed: Set<string>): void {
  for (const key in value) {
    if (!allowed.has(key)) {
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        `Unknown field \`${key}\` in ${where}. Allowed: ${[...allowed].join(', ')}.`,
      );
    }
  }
}

/** Validates the shape of send options (an object with known keys); returns them untouched. */
export function checkSendOptions(options: unknown): SendOptions | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object') {
    throw new SseTypeError('SSE_INVALID_FIELD', `Send options must be an object, got ${describe(options)}.`);
  }
  checkKeys('send options', options, SEND_OPTION_KEYS);
  return options as SendOptions;
}

/** Send options after {@link readSendOptions}: each field checked, the id as it goes on the wire. */
export interface CheckedSendOptions {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly retry: number | undefined;
  readonly idempotencyKey: string | undefined;
}

const NO_SEND_OPTIONS: CheckedSendOptions = Object.freeze({
  event: undefined,
  id: undefined,
  retry: undefined,
  idempotencyKey: undefined,
});

/**
 * Checks send options whole, for `stream.send()` and the hub's `send`/`publish`/`broadcast` alike: the object, its
 * keys, then `event`, `id`, `retry` and `idempotencyKey`.
 */
export function readSendOptions(options: unknown): CheckedSendOptions {
  const checked = checkSendOptions(options);
  if (checked === undefined) return NO_SEND_OPTIONS;
  const { event, id, retry, idempotencyKey } = checked;
  if (event !== undefined) checkEvent(event);
  const wireId = id === undefined ? undefined : checkId(id);
  if (retry !== undefined) checkRetry(retry);
  if (idempotencyKey !== undefined) checkIdempotencyKey(idempotencyKey);
  return { event, id: wireId, retry, idempotencyKey };
}

/** Checks an `idempotencyKey`. Throws a `TypeError` (code `SSE_INVALID_FIELD`) that says what a key must be. */
export function checkIdempotencyKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !isWellFormed(key)) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      `Field \`idempotencyKey\` must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (well-formed UTF-16), such as an id the app already has for the event or a UUID made once per event; got ${describe(key)}.`,
    );
  }
}

/**
 * Formats one message as `text/event-stream` bytes.
 *
 * Canonical order: comment lines (`": " + line`), `event`, `id`, `retry`, then one `data:` line per line of data,
 * then a blank line. One space after each colon, LF line endings, no BOM. Data and comments are split on CRLF, CR
 * and LF, so every line ending arrives as LF.
 *
 * @example formatEvent({ event: 'update', id: 7, data: 'a\nb' }) // "event: update\nid: 7\ndata: a\ndata: b\n\n"
 * @throws SseTypeError `SSE_INVALID_FIELD` for an `event`/`id` with CR or LF (or an `id` with NUL), or an unknown field;
 *   `SSE_SERIALIZE_FAILED` when the serializer throws or returns a non-string.
 * @throws SseRangeError `SSE_INVALID_RETRY` for a `retry` that is not a non-negative safe integer.
 */
export function formatEvent<R extends number = number>(
  message: SseMessage & { retry?: RetryDelay<R> },
  serializer: Serializer = jsonSerializer,
): string {
  if (message === null || typeof message !== 'object') {
    throw new SseTypeError('SSE_INVALID_FIELD', `A message must be an object, got ${describe(message)}.`);
  }
  checkKeys('the message', message, MESSAGE_KEYS);
  let out = '';
  if (message.comment !== undefined) {
    if (typeof message.comment !== 'string') {
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        `Field \`comment\` must be a string, got ${describe(message.comment)}.`,
      );
    }
    out += lines(': ', message.comment);
  }
  if (message.event !== undefined) {
    checkEvent(message.event);
    out += `event: ${message.event}\n`;
  }
  if (message.id !== undefined) out += `id: ${checkId(message.id)}\n`;
  if (message.retry !== undefined) {
    checkRetry(message.retry);
    out += `retry: ${message.retry}\n`;
  }
  if (message.data !== undefined) out += lines('data: ', serializeData(message.data, serializer));
  return `${out}\n`;
}

/**
 * Formats `data` plus send options, the hot path of `send`/`publish`/`broadcast`. The id, when given, is already
 * checked. Same bytes as {@link formatEvent}.
 */
export function formatData(
  text: string,
  event: string | undefined,
  id: string | undefined,
  retry: number | undefined,
): string {
  let out = '';
  if (event !== undefined) out += `event: ${event}\n`;
  if (id !== undefined) out += `id: ${id}\n`;
  if (retry !== undefined) out += `retry: ${retry}\n`;
  return `${out}${lines('data: ', text)}\n`;
}

/** A comment frame (`": text\n\n"`), e.g. for heartbeats. Comment lines are split like data. */
export function formatComment(text: string): string {
  if (typeof text !== 'string') {
    throw new SseTypeError('SSE_INVALID_FIELD', `A comment must be a string, got ${describe(text)}.`);
  }
  return `${lines(': ', text)}\n`;
}
