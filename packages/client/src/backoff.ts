/** How a client waits between reconnects: exponential backoff with jitter. */
export interface RetryOptions {
  /** The first delay, in ms, until the server sends `retry:` (which replaces it). Default 1000. */
  initialDelay?: number;
  /** The longest delay the backoff grows to, in ms (a server's `retry:` above it still wins). Default 30_000. */
  maxDelay?: number;
  /** What each failed attempt in a row multiplies the delay by. Default 2. */
  factor?: number;
  /**
   * How much random time is added to each delay, as a fraction of it (0 to 1), so that clients dropped together
   * do not come back together. Default 0.5: a delay of 1000 ms becomes 1000 to 1500 ms.
   */
  jitter?: number;
  /** How many reconnects in a row may fail before the client gives up. Default `Infinity`. */
  maxAttempts?: number;
}

/**
 * The delay before reconnect number `attempt` (1, 2, … since the last successful connection): `base` (the server's
 * `retry:`, or `initialDelay`) times `factor` to the power `attempt - 1`, at most `maxDelay` but never below `base`,
 * plus up to `jitter` of itself. Jitter only adds, so a server's `retry:` is a floor.
 */
export function backoffDelay(attempt: number, base: number, retry: Required<RetryOptions>): number {
  const delay = Math.max(base, Math.min(retry.maxDelay, base * retry.factor ** (attempt - 1)));
  return Math.round(delay * (1 + retry.jitter * Math.random()));
}
