import type { CloseReason } from './stream.js';

// What a stream's end writes: whether pending events go out first, and the last `retry` hint.

/** Retry hint sent before a stream is ended by `timeout` when the stream has no `retry` of its own. */
export const DEFAULT_CLOSE_RETRY = 1000;

/** Ends that write what is pending before the response ends; `client` and `slow-consumer` drop it. */
export function isGraceful(reason: CloseReason): boolean {
  return reason === 'server' || reason === 'timeout' || reason === 'shutdown' || reason === 'error';
}

/** The `retry` hint a stream gets when the server ends it for `timeout` or `shutdown`: its own `retry`, or the default. */
export function closeRetryOf(options: { readonly retry?: number | undefined }): number {
  return options.retry ?? DEFAULT_CLOSE_RETRY;
}

/**
 * The last `retry` hint: the caller's; for `timeout` and `shutdown` without one, the stream's own or the default
 * (`closeRetry`).
 */
export function lastRetryHint(
  reason: CloseReason,
  retryHint: number | undefined,
  closeRetry: number,
): number | undefined {
  if (retryHint !== undefined || (reason !== 'timeout' && reason !== 'shutdown')) return retryHint;
  return closeRetry;
}
