import type { Logger } from './stream-options.js';

/** Shortest time between two log lines about events the broker refused, in ms. */
export const FAILURE_LOG_INTERVAL = 5000;

/**
 * Reports publishes the broker refused, at most one line per interval: a busy app publishes thousands of events
 * while Redis restarts, and one line per event would drown the log. Each line counts every failure since the
 * previous line, so the lines add up to `stats().failed`. Failures that came after the last line are reported by
 * the next failure after the interval, or by {@link FailureLog.flush} when the hub closes.
 */
export class FailureLog {
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private unreported = 0;
  private lastError: unknown;

  constructor(
    private readonly logger: Logger,
    private readonly interval = FAILURE_LOG_INTERVAL,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one failure; writes a line when the last one is at least an interval old. */
  record(error: unknown): void {
    this.unreported++;
    this.lastError = error;
    const now = this.now();
    if (now - this.lastLineAt < this.interval) return;
    this.lastLineAt = now;
    this.write();
  }

  /** Writes a line for the failures not reported yet, if any. */
  flush(): void {
    if (this.unreported > 0) this.write();
  }

  private write(): void {
    const count = this.unreported;
    const error = this.lastError;
    this.unreported = 0;
    this.lastError = undefined;
    this.logger.error(
      `[ssekit] ${count} event(s) could not be published (the broker refused them); their send/publish/broadcast promises rejected.`,
      error,
    );
  }
}
