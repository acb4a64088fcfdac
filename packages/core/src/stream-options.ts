import { validateHeaderName, validateHeaderValue } from 'node:http';
import { SseTypeError } from './errors.js';
import { checkRetry, jsonSerializer, type Serializer } from './frame.js';
import { assertKnownOptions, describe, durationOption, functionOption, positiveIntOption } from './validate.js';

/** Options of one stream. Adapters take the same options per route. */
export interface StreamOptions {
  /** Milliseconds between keep-alive comments on an idle stream; `false` disables them. Default 15000. */
  heartbeat?: number | false;
  /** Maximum lifetime in milliseconds; `false` (default) for none. On expiry the client is told to reconnect. */
  timeout?: number | false;
  /** Reconnection delay sent to the client at connect (`retry:` field), in ms. Default: none sent. */
  retry?: number;
  /**
   * Bytes that may wait for a client that does not read, before it is cut off as a slow consumer. Default 1 MiB.
   *
   * It bounds what a client costs, not the size of an event: the largest single event waiting for the client (the
   * one the socket is still taking, or the largest queued) is not counted, so an event of any size reaches a client
   * that reads, and a client that does not read is ended (reason `slow-consumer`) once more than this waits behind
   * it. Memory per client stays at most this limit plus one event (plus the kernel's socket buffer). Several events
   * larger than the limit sent faster than the client takes them still end it: raise the limit for those.
   */
  maxBufferedBytes?: number;
  /**
   * Extra response headers; they override ssekit's defaults. Checked when the route is declared, with Node's own
   * rules: a name must be an HTTP token, a value a string or number without CR, LF or characters outside Latin-1.
   */
  headers?: Record<string, string | number | readonly string[]>;
  /** Turns non-string data into text. Default `JSON.stringify`. */
  serializer?: Serializer;
  /** Where errors that cannot be thrown are reported (a piped source that failed). Default `console`. */
  logger?: Logger;
}

/** The subset of a logger ssekit uses; `console`, pino and Fastify's `app.log` fit. */
export interface Logger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

/** Default `maxBufferedBytes`: 1 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Default heartbeat: 15 s, below the 30 to 60 s idle timeouts of common proxies and load balancers. */
export const DEFAULT_HEARTBEAT = 15_000;

const STREAM_OPTION_KEYS = [
  'heartbeat',
  'timeout',
  'retry',
  'maxBufferedBytes',
  'headers',
  'serializer',
  'logger',
] as const;

/** Stream options after validation. */
export interface ResolvedStreamOptions {
  heartbeat: number | false;
  timeout: number | false;
  retry: number | undefined;
  maxBufferedBytes: number;
  headers: Record<string, string | number | readonly string[]> | undefined;
  serializer: Serializer;
  logger: Logger;
}

/** Validates stream options once (adapters do it when a route is set up). Throws on a bad or unknown option. */
export function resolveStreamOptions(
  options: StreamOptions = {},
  extraKeys: readonly string[] = [],
): ResolvedStreamOptions {
  if (options === null || typeof options !== 'object') {
    throw new SseTypeError('SSE_INVALID_OPTION', `Stream options must be an object, got ${describe(options)}.`);
  }
  assertKnownOptions('an SSE stream', options, [...STREAM_OPTION_KEYS, ...extraKeys]);
  if (options.retry !== undefined) checkRetry(options.retry);
  if (options.headers !== undefined) checkHeaders(options.headers);
  const logger = options.logger ?? console;
  if (typeof logger.error !== 'function' || typeof logger.warn !== 'function') {
    throw new SseTypeError('SSE_INVALID_OPTION', 'Option `logger` must have `error` and `warn` methods.');
  }
  return markResolved({
    heartbeat: durationOption('heartbeat', options.heartbeat, DEFAULT_HEARTBEAT),
    timeout: durationOption('timeout', options.timeout, false),
    retry: options.retry,
    maxBufferedBytes: positiveIntOption('maxBufferedBytes', options.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES),
    headers: options.headers,
    serializer: functionOption<Serializer>('serializer', options.serializer) ?? jsonSerializer,
    logger,
  });
}

/**
 * Checks the `headers` option with Node's own rules (`validateHeaderName`/`validateHeaderValue`), when the route is
 * declared: a header Node refuses would otherwise fail every request, after the response was taken over.
 */
function checkHeaders(headers: unknown): void {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new SseTypeError('SSE_INVALID_OPTION', `Option \`headers\` must be an object, got ${describe(headers)}.`);
  }
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
    } catch (cause) {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `Option \`headers\`: ${JSON.stringify(name)} is not a valid header name (an HTTP token: letters, digits and !#$%&'*+-.^_\`|~).`,
        { cause },
      );
    }
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.length === 0) {
      throw new SseTypeError('SSE_INVALID_OPTION', `Option \`headers\`: header "${name}" has an empty list of values.`);
    }
    for (const item of values) checkHeaderValue(name, item);
  }
}

function checkHeaderValue(name: string, value: unknown): void {
  if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`headers\`: header "${name}" must be a string, a finite number or an array of them, got ${describe(value)}.`,
    );
  }
  const text = String(value);
  try {
    validateHeaderValue(name, text);
    // Node accepts U+0080 to U+00FF as Latin-1 bytes; anything above would be mangled on the wire.
    if (/[^\t\x20-\xff]/.test(text)) throw new TypeError('a character outside Latin-1');
  } catch (cause) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`headers\`: header "${name}" has an invalid value ${describe(text)} (CR, LF and other control characters, and characters outside Latin-1, cannot be sent). Encode it, e.g. with encodeURIComponent().`,
      { cause },
    );
  }
}

const resolvedMarker = new WeakSet<object>();

/** @internal Marks options as already validated so adapters validate once per route, not per request. */
export function markResolved<T extends ResolvedStreamOptions>(options: T): T {
  resolvedMarker.add(options);
  return options;
}

/** True for options that came out of {@link resolveStreamOptions}, which need no second validation. */
export function isResolved(options: object): options is ResolvedStreamOptions {
  return resolvedMarker.has(options);
}
