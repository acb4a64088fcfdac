import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { sleep } from './wait.js';

/**
 * Fails a test when anything escapes it as an unhandled rejection or an uncaught exception (either would bring down a
 * production process). Listens from before the first test of the calling file or describe block to after the last.
 * After each test it first waits `settle` ms: Node reports a rejection only once the microtask queue has drained.
 */
export function failOnEscapedErrors(settle: number): void {
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  beforeAll(() => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
  });
  afterAll(() => {
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });
  afterEach(async () => {
    await sleep(settle);
    // Taken out before the check, so a leak fails only the test it escaped from.
    expect(escaped.splice(0)).toEqual([]);
  });
}
