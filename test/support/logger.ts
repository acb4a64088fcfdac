import type { Logger } from '@ssekit/core';
import { waitFor } from './wait.js';

/** A `Logger` that records the arguments of every call, for tests to assert on what ssekit passed (errors included). */
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

/**
 * A logger that keeps each line as text (an `Error` as its message), so tests stay quiet and can assert on, or wait
 * for, what was reported.
 */
export interface RecordingLogger extends Logger {
  readonly lines: { level: 'error' | 'warn'; message: string }[];
  /** Waits until a line containing `fragment` was logged. */
  waitFor(fragment: string, timeout?: number): Promise<void>;
}

export function recordingLogger(): RecordingLogger {
  const lines: { level: 'error' | 'warn'; message: string }[] = [];
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return {
    lines,
    error: (...args: unknown[]) => lines.push({ level: 'error', message: text(args) }),
    warn: (...args: unknown[]) => lines.push({ level: 'warn', message: text(args) }),
    waitFor: (fragment, timeout = 10_000) =>
      waitFor(() => lines.some((line) => line.message.includes(fragment)), `a log line with "${fragment}"`, timeout),
  };
}
