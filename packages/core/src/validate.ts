import { SseError, SseRangeError, SseTypeError } from './errors.js';

// Shared checks for options and identifiers. Fields of an event are checked in frame.ts.

/** Longest client id or topic ssekit accepts. Ids are map keys and travel in logs and Redis keys. */
export const MAX_NAME_LENGTH = 256;

// C0 controls and DEL: never part of a sane id, and CR/LF would break logs and wire formats.
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkName(kind: 'client id' | 'topic', value: unknown, code: 'SSE_INVALID_CLIENT_ID' | 'SSE_INVALID_TOPIC') {
  if (typeof value !== 'string') {
    throw new SseTypeError(code, `The ${kind} must be a string, got ${describe(value)}.`, { statusCode: 400 });
  }
  if (value.length === 0) {
    throw new SseTypeError(code, `The ${kind} must not be empty.`, { statusCode: 400 });
  }
  if (value.length > MAX_NAME_LENGTH) {
    throw new SseTypeError(
      code,
      `The ${kind} is ${value.length} characters long; at most ${MAX_NAME_LENGTH} are allowed. Use a shorter id (e.g. a hash).`,
      { statusCode: 400 },
    );
  }
  if (CONTROL.test(value)) {
    throw new SseTypeError(code, `The ${kind} ${JSON.stringify(value)} contains a control character; remove it.`, {
      statusCode: 400,
    });
  }
  if (!isWellFormed(value)) {
    throw new SseTypeError(
      code,
      `The ${kind} ${JSON.stringify(value)} contains a lone UTF-16 surrogate: it has no UTF-8 form, so a broker would store another name. Use well-formed text.`,
      { statusCode: 400 },
    );
  }
}

/**
 * True unless `text` has a lone UTF-16 surrogate. Such a string has no UTF-8 form: a broker that stores names as
 * UTF-8 (Redis) would turn `'room\uD800'` into `'room\uFFFD'` and deliver to the wrong subscribers.
 */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** Throws a 400-flavoured `SseTypeError` unless `value` is a usable client id. */
export function assertClientId(value: unknown): asserts value is string {
  checkName('client id', value, 'SSE_INVALID_CLIENT_ID');
}

/** Throws a 400-flavoured `SseTypeError` unless `value` is a usable topic name. */
export function assertTopic(value: unknown): asserts value is string {
  checkName('topic', value, 'SSE_INVALID_TOPIC');
}

/** Validates a list of topics and returns it without duplicates. */
export function normalizeTopics(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new SseTypeError('SSE_INVALID_TOPIC', `Topics must be an array of strings, got ${describe(value)}.`, {
      statusCode: 400,
    });
  }
  for (const topic of value) assertTopic(topic);
  return value.length < 2 ? value.slice() : [...new Set(value as string[])];
}

/**
 * A duration option in milliseconds: a positive safe integer, or `false` to turn the feature off.
 * `undefined` yields the default.
 */
export function durationOption(name: string, value: unknown, fallback: number | false): number | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new SseRangeError(
      'SSE_INVALID_OPTION',
      `Option \`${name}\` must be a positive whole number of milliseconds or false, got ${describe(value)}.`,
    );
  }
  return value;
}

/** A count or size option: a positive safe integer. */
export function positiveIntOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new SseRangeError(
      'SSE_INVALID_OPTION',
      `Option \`${name}\` must be a positive whole number, got ${describe(value)}.`,
    );
  }
  return value;
}

/** A function option; `undefined` stays undefined. */
export function functionOption<T>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new SseTypeError('SSE_INVALID_OPTION', `Option \`${name}\` must be a function, got ${describe(value)}.`);
  }
  return value as T;
}

/** Rejects option names that do not exist: a typo must not silently fall back to a default. */
export function assertKnownOptions(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `Unknown option \`${key}\` for ${where}. Known options: ${known.join(', ')}.`,
      );
    }
  }
}

/** A short description of a value for error messages; never dumps a whole object. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n (a BigInt)`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return `an object (${Object.prototype.toString.call(value)})`;
  }
}
