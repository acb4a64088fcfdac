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

const CALLBACKS = ['onOpen', 'onEvent', 'onRetry', 'onError', 'parse', 'fetch'] as const;

function invalid(what: string, value: unknown): SseClientError {
  const got = typeof value === 'string' ? JSON.stringify(value) : typeof value;
  return new SseClientError('SSE_CLIENT_INVALID_OPTION', `connect(): ${what}, got ${got}.`);
}

function number(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw invalid(`${name} must be a number from ${min} to ${max}`, value);
  }
  return value;
}

/** Checks `connect()`'s arguments and fills in the defaults; throws `SSE_CLIENT_INVALID_OPTION`. */
export function resolveOptions<Events extends EventMap>(url: unknown, options: ConnectOptions<Events>): Resolved {
  if (typeof url !== 'string' && !(url instanceof URL)) throw invalid('the URL must be a string or a URL', url);
  if (options === null || typeof options !== 'object') throw invalid('options must be an object', options);
  for (const name of CALLBACKS) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw invalid(`options.${name} must be a function`, options[name]);
    }
  }
  const body = options.body;
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    throw invalid('options.body cannot be a ReadableStream (the first request may be sent again): pass its text', body);
  }
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  if (typeof method !== 'string' || !/^[!#$%&'*+.^`|~\w-]+$/.test(method)) {
    throw invalid('options.method must be an HTTP method name', method);
  }
  if (body !== undefined && /^(GET|HEAD)$/i.test(method)) {
    throw invalid(`options.body cannot go with method ${method}: use POST (or another method that has a body)`, method);
  }
  for (const name of ['streamKey', 'lastEventId'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') {
      throw invalid(`options.${name} must be a string`, options[name]);
    }
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalid('options.signal must be an AbortSignal', signal);
  const fetch = options.fetch ?? globalThis.fetch;
  if (typeof fetch !== 'function') throw invalid('no fetch: pass options.fetch on a runtime without one', fetch);
  const retryOption = options.retry ?? {};
  if (retryOption !== false && (retryOption === null || typeof retryOption !== 'object')) {
    throw invalid('options.retry must be an object or false', retryOption);
  }
  let retry: Required<RetryOptions> | undefined;
  if (retryOption !== false) {
    const initialDelay = number(retryOption.initialDelay, 'retry.initialDelay', 0, 2 ** 31 - 1, 1000);
    retry = {
      initialDelay,
      maxDelay: number(
        retryOption.maxDelay,
        'retry.maxDelay',
        initialDelay,
        2 ** 31 - 1,
        Math.max(initialDelay, 30_000),
      ),
      factor: number(retryOption.factor, 'retry.factor', 1, 100, 2),
      jitter: number(retryOption.jitter, 'retry.jitter', 0, 1, 0.5),
      maxAttempts: number(retryOption.maxAttempts, 'retry.maxAttempts', 0, Infinity, Infinity),
    };
  }
  return {
    url: String(url),
    method,
    fetch,
    retry,
    idleTimeout: number(options.idleTimeout, 'options.idleTimeout', 0, 2 ** 31 - 1, 0),
    parse: options.parse ?? ((data) => JSON.parse(data)),
  };
}
