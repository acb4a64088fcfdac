import type { RetryOptions } from './backoff.js';
import { SseClientError } from './errors.js';
import type { EventMap } from './events.js';
import type { ConnectOptions, FetchLike } from './options.js';

/** The options of a client once checked, with their defaults. */
export interface Resolved {
  url: string;
  method: string;
  fetch: FetchLike;
  retry: Required<RetryOptions> | undefined;
  idleTimeout: number;
  parse: (data: string, event: string) => unknown;
}

const MAX_DELAY = 2 ** 31 - 1;

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) {
    const got = typeof value === 'string' ? JSON.stringify(value) : typeof value;
    throw new SseClientError('SSE_CLIENT_INVALID_OPTION', `connect(): ${what}, got ${got}.`);
  }
}

function number(options: object, name: string, min: number, max: number, fallback: number, prefix = ''): number {
  const value = (options as Record<string, unknown>)[name] ?? fallback;
  check(
    typeof value === 'number' && value >= min && value <= max,
    `${prefix}${name} must be a number from ${min} to ${max}`,
    value,
  );
  return value as number;
}

/** Checks `connect()`'s arguments and fills in the defaults; throws `SSE_CLIENT_INVALID_OPTION`. */
export function resolveOptions<Events extends EventMap>(url: unknown, options: ConnectOptions<Events>): Resolved {
  check(typeof url === 'string' || url instanceof URL, 'the URL must be a string or a URL', url);
  check(options !== null && typeof options === 'object', 'options must be an object', options);
  for (const name of ['onOpen', 'onEvent', 'onRetry', 'onError', 'parse', 'fetch'] as const) {
    check(
      options[name] === undefined || typeof options[name] === 'function',
      `options.${name} must be a function`,
      options[name],
    );
  }
  for (const name of ['streamKey', 'lastEventId'] as const) {
    check(
      options[name] === undefined || typeof options[name] === 'string',
      `options.${name} must be a string`,
      options[name],
    );
  }
  const { body, signal, retry: retryOption = {} } = options;
  // A stream can be read once, and the first request may have to be sent again (a refused connection, a 5xx).
  check(!(body instanceof ReadableStream), 'options.body cannot be a ReadableStream: pass its text', body);
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  check(
    typeof method === 'string' && /^[!#$%&'*+.^`|~\w-]+$/.test(method),
    'options.method must be an HTTP method',
    method,
  );
  check(body === undefined || !/^(GET|HEAD)$/i.test(method), 'options.body cannot go with method GET or HEAD', method);
  check(signal === undefined || signal instanceof AbortSignal, 'options.signal must be an AbortSignal', signal);
  const fetch = options.fetch ?? globalThis.fetch;
  check(typeof fetch === 'function', 'no global fetch here: pass options.fetch', fetch);
  check(
    retryOption === false || (retryOption !== null && typeof retryOption === 'object'),
    'options.retry must be an object or false',
    retryOption,
  );
  let retry: Required<RetryOptions> | undefined;
  if (retryOption !== false) {
    const initialDelay = number(retryOption, 'initialDelay', 0, MAX_DELAY, 1000, 'retry.');
    retry = {
      initialDelay,
      maxDelay: number(retryOption, 'maxDelay', initialDelay, MAX_DELAY, Math.max(initialDelay, 30_000), 'retry.'),
      factor: number(retryOption, 'factor', 1, 100, 2, 'retry.'),
      jitter: number(retryOption, 'jitter', 0, 1, 0.5, 'retry.'),
      maxAttempts: number(retryOption, 'maxAttempts', 0, Infinity, Infinity, 'retry.'),
    };
  }
  return {
    url: String(url),
    method,
    fetch,
    retry,
    idleTimeout: number(options, 'idleTimeout', 0, MAX_DELAY, 0, 'options.'),
    parse: options.parse ?? jsonOrText,
  };
}

/**
 * The default `parse`: the mirror of ssekit's serializer, which sends strings as they are and other values as JSON.
 * Data that is not JSON is delivered as its text.
 */
function jsonOrText(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
