import type { Logger } from '@ssekit/core';

/** A `Logger` that records what ssekit reports, for tests to assert on. */
export interface CapturedLogger extends Logger {
  errors: unknown[][];
  warnings: unknown[][];
  /** The first argument of every `error()` call (ssekit's message). */
  readonly errorMessages: string[];
  /** Forgets what was recorded, for a logger shared by the tests of a file. */
  clear(): void;
}

export function captureLogger(): CapturedLogger {
  const errors: unknown[][] = [];
  const warnings: unknown[][] = [];
  return {
    errors,
    warnings,
    get errorMessages() {
      return errors.map((args) => String(args[0]));
    },
    clear() {
      errors.length = 0;
      warnings.length = 0;
    },
    error: (...args: unknown[]) => {
      errors.push(args);
    },
    warn: (...args: unknown[]) => {
      warnings.push(args);
    },
  };
}
