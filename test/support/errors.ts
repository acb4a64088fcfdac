import { isSseError } from '@ssekit/core';
import { expect } from 'vitest';

/** What a rejection must look like: the built-in class it extends, the ssekit class, its code and its message. */
export interface ExpectedSseError {
  /** `TypeError`, `RangeError` or `Error`: what `instanceof` must hold for callers that do not know ssekit. */
  base: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;
  /** The ssekit class (`SseTypeError`, `SseRangeError`, `SseError`). */
  type: new (
    ...args: never[]
  ) => Error;
  code: string;
  /** The whole message, or a pattern it must match. */
  message: string | RegExp;
  statusCode?: number;
}

/** Runs `fn`, which must throw synchronously, and checks the error against `expected`. Returns the error. */
export function expectSseError(fn: () => unknown, expected: ExpectedSseError): Error {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  return checkSseError(thrown, expected);
}

/** Checks a caught error (or a rejection reason) against `expected`. Returns the error. */
export function checkSseError(thrown: unknown, expected: ExpectedSseError): Error {
  expect(thrown, 'expected an error to be thrown').toBeInstanceOf(expected.type);
  expect(thrown).toBeInstanceOf(expected.base);
  expect(isSseError(thrown)).toBe(true);
  const error = thrown as Error & { code: string; statusCode?: number };
  expect(error.code).toBe(expected.code);
  if (typeof expected.message === 'string') expect(error.message).toBe(expected.message);
  else expect(error.message).toMatch(expected.message);
  if (expected.statusCode !== undefined) expect(error.statusCode).toBe(expected.statusCode);
  return error;
}
