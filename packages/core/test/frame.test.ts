import { formatComment, formatEvent, type Serializer, SseError, SseRangeError, SseTypeError } from '@ssekit/core';
import { checkId } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { expectSseError } from '../../../test/support/errors.js';
import { serializeData } from '../src/frame.js';

const FIELD = { base: TypeError, type: SseTypeError, code: 'SSE_INVALID_FIELD' } as const;
const RETRY = { base: RangeError, type: SseRangeError, code: 'SSE_INVALID_RETRY' } as const;
const SERIALIZE = { base: TypeError, type: SseTypeError, code: 'SSE_SERIALIZE_FAILED' } as const;

describe('formatEvent: canonical bytes', () => {
  it('writes the example from the spec exactly', () => {
    expect(formatEvent({ event: 'update', id: 7, data: 'a\nb' })).toBe('event: update\nid: 7\ndata: a\ndata: b\n\n');
  });

  it('writes a lone data field as "data: " + text + blank line', () => {
    expect(formatEvent({ data: 'hello' })).toBe('data: hello\n\n');
  });

  it('writes an event field before the data', () => {
    expect(formatEvent({ event: 'tick', data: 'x' })).toBe('event: tick\ndata: x\n\n');
  });

  it('writes a string id as given', () => {
    expect(formatEvent({ id: 'abc-1', data: 'x' })).toBe('id: abc-1\ndata: x\n\n');
  });

  it('writes a numeric id in decimal', () => {
    expect(formatEvent({ id: 42, data: 'x' })).toBe('id: 42\ndata: x\n\n');
    expect(formatEvent({ id: 0, data: 'x' })).toBe('id: 0\ndata: x\n\n');
  });

  it('writes an empty id, which clears the client cursor', () => {
    expect(formatEvent({ id: '' })).toBe('id: \n\n');
  });

  it('writes a retry field', () => {
    expect(formatEvent({ retry: 2500, data: 'x' })).toBe('retry: 2500\ndata: x\n\n');
    expect(formatEvent({ retry: 0 })).toBe('retry: 0\n\n');
  });

  it('writes every field in the order comment, event, id, retry, data, whatever order the object has', () => {
    const message = { data: 'd', retry: 10, id: 'i', event: 'e', comment: 'c' };
    expect(formatEvent(message)).toBe(': c\nevent: e\nid: i\nretry: 10\ndata: d\n\n');
  });

  it('writes a comment as ": " + text', () => {
    expect(formatEvent({ comment: 'keep-alive' })).toBe(': keep-alive\n\n');
  });

  it('splits a multi-line comment into one comment line per line', () => {
    expect(formatEvent({ comment: 'a\r\nb\rc\nd' })).toBe(': a\n: b\n: c\n: d\n\n');
  });

  it('writes exactly one space after each colon and only LF line endings', () => {
    const bytes = formatEvent({ comment: 'c', event: 'e', id: 1, retry: 1, data: 'a\r\nb' });
    expect(bytes).not.toMatch(/\r/);
    for (const line of bytes.split('\n').filter(Boolean)) expect(line).toMatch(/^(:|[a-z]+:) [^ ]/);
  });

  it('never writes a byte order mark', () => {
    expect(formatEvent({ data: 'x' }).charCodeAt(0)).not.toBe(0xfeff);
    expect(formatEvent({ data: '\ufeffx' })).toBe('data: \ufeffx\n\n');
  });

  it('sends a message with no data (a bare id moves the cursor, a bare retry sets the delay)', () => {
    expect(formatEvent({ id: 9 })).toBe('id: 9\n\n');
    expect(formatEvent({ retry: 1000 })).toBe('retry: 1000\n\n');
    expect(formatEvent({})).toBe('\n');
  });
});

describe('formatEvent: data', () => {
  it('sends a string as is', () => {
    expect(formatEvent({ data: '{"already":"json"}' })).toBe('data: {"already":"json"}\n\n');
  });

  it('serializes anything else with JSON.stringify', () => {
    expect(formatEvent({ data: { a: 1, b: [true, null] } })).toBe('data: {"a":1,"b":[true,null]}\n\n');
    expect(formatEvent({ data: 5 })).toBe('data: 5\n\n');
    expect(formatEvent({ data: null })).toBe('data: null\n\n');
    expect(formatEvent({ data: false })).toBe('data: false\n\n');
  });

  it('uses a custom serializer when given', () => {
    const bigints: Serializer = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}` : v));
    expect(formatEvent({ data: { n: 12n } }, bigints)).toBe('data: {"n":"12"}\n\n');
  });

  it('splits LF-separated data into one data line per line', () => {
    expect(formatEvent({ data: 'a\nb\nc' })).toBe('data: a\ndata: b\ndata: c\n\n');
  });

  it('splits CRLF-separated data the same way, so "a\\r\\nb" arrives as "a\\nb"', () => {
    expect(formatEvent({ data: 'a\r\nb' })).toBe('data: a\ndata: b\n\n');
  });

  it('splits CR-separated data the same way, so "a\\rb" arrives as "a\\nb"', () => {
    expect(formatEvent({ data: 'a\rb' })).toBe('data: a\ndata: b\n\n');
  });

  it('treats "\\n\\r" as two line breaks (LF then CR), as the spec parser does', () => {
    expect(formatEvent({ data: 'a\n\rb' })).toBe('data: a\ndata: \ndata: b\n\n');
  });

  it('keeps a trailing newline (an empty last data line)', () => {
    expect(formatEvent({ data: 'line\n' })).toBe('data: line\ndata: \n\n');
  });

  it('keeps a leading newline and blank lines in the middle', () => {
    expect(formatEvent({ data: '\na\n\nb' })).toBe('data: \ndata: a\ndata: \ndata: b\n\n');
  });

  it('sends empty data as "data: " and a blank line (an event with empty data)', () => {
    expect(formatEvent({ data: '' })).toBe('data: \n\n');
  });

  it('keeps a leading space (after the one separator space)', () => {
    expect(formatEvent({ data: ' x' })).toBe('data:  x\n\n');
  });

  it('keeps a leading colon in data', () => {
    expect(formatEvent({ data: ':not a comment' })).toBe('data: :not a comment\n\n');
  });

  it('passes NUL and non-ASCII text through untouched', () => {
    expect(formatEvent({ data: 'a\0b 😀 é 中' })).toBe('data: a\0b 😀 é 中\n\n');
  });
});

describe('formatComment', () => {
  it('writes ": " + text and a blank line', () => {
    expect(formatComment('hi')).toBe(': hi\n\n');
  });

  it('splits a multi-line comment', () => {
    expect(formatComment('a\nb')).toBe(': a\n: b\n\n');
  });

  it('rejects a non-string comment', () => {
    expectSseError(() => formatComment(5 as unknown as string), {
      ...FIELD,
      message: 'A comment must be a string, got 5.',
    });
  });
});

describe('formatEvent: rejections', () => {
  it.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['CRLF', 'a\r\nb'],
  ])('rejects an event name with %s, naming the field', (_, event) => {
    expectSseError(() => formatEvent({ event, data: 'x' }), {
      ...FIELD,
      message:
        'Field `event` must not contain CR or LF: a newline would end the field and inject another. Use a single-line name.',
    });
  });

  it('rejects an event name that is not a string', () => {
    expectSseError(() => formatEvent({ event: 1 as unknown as string, data: 'x' }), {
      ...FIELD,
      message: 'Field `event` must be a string, got 1.',
    });
  });

  it.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['CRLF', 'a\r\nb'],
  ])('rejects an id with %s, naming the field', (_, id) => {
    expectSseError(() => formatEvent({ id, data: 'x' }), {
      ...FIELD,
      message:
        'Field `id` must not contain CR or LF: a newline would end the field and inject another. Use a single-line id.',
    });
  });

  it('rejects an id with NUL, which clients would silently ignore', () => {
    expectSseError(() => formatEvent({ id: 'a\0b', data: 'x' }), {
      ...FIELD,
      message: 'Field `id` must not contain NUL (U+0000): clients ignore such an id, so resume would silently break.',
    });
  });

  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('rejects a numeric id that is not finite (%s)', (id, shown) => {
    expectSseError(() => formatEvent({ id, data: 'x' }), {
      ...FIELD,
      message: `Field \`id\` must be a finite number or a string, got ${shown}.`,
    });
  });

  it('rejects an id of another type', () => {
    expectSseError(() => formatEvent({ id: true as unknown as string }), {
      ...FIELD,
      message: 'Field `id` must be a string or a number, got true.',
    });
  });

  it.each([
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [2 ** 53, String(2 ** 53)],
    ['1000', '"1000"'],
  ])('rejects retry %s with a RangeError', (retry, shown) => {
    expectSseError(() => formatEvent({ retry: retry as number }), {
      ...RETRY,
      message: `Field \`retry\` must be a non-negative whole number of milliseconds, got ${shown}.`,
    });
  });

  it('rejects a BigInt the default serializer cannot handle, saying what to do', () => {
    expectSseError(() => formatEvent({ data: { n: 1n } }), {
      ...SERIALIZE,
      message:
        /^Could not serialize event data \(an object \(\[object Object\]\)\): Do not know how to serialize a BigInt\. Convert it to a string or a JSON-safe value first, or pass a `serializer` that handles it\.$/,
    });
  });

  it('rejects a cyclic object and keeps the cause', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const error = expectSseError(() => formatEvent({ data: cyclic }), {
      ...SERIALIZE,
      message: /^Could not serialize event data \(an object \(\[object Object\]\)\): Converting circular structure/,
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('rejects a serializer that returns something other than a string', () => {
    expectSseError(() => formatEvent({ data: { a: 1 } }, () => 42 as unknown as string), {
      ...SERIALIZE,
      message:
        'The serializer returned 42 instead of a string for an object ([object Object]). A serializer must return a string.',
    });
  });

  it('rejects data JSON cannot represent (a function gives undefined)', () => {
    expectSseError(() => formatEvent({ data: () => 1 }), {
      ...SERIALIZE,
      message:
        'The serializer returned undefined instead of a string for a function. A serializer must return a string.',
    });
  });

  it('wraps an error thrown by a custom serializer', () => {
    const boom: Serializer = () => {
      throw new Error('boom');
    };
    expectSseError(() => formatEvent({ data: {} }, boom), { ...SERIALIZE, message: /: boom\. Convert it/ });
  });

  it('rejects an unknown field, so a typo is not silently ignored', () => {
    expectSseError(() => formatEvent({ evnt: 'x', data: 'y' } as never), {
      ...FIELD,
      message: 'Unknown field `evnt` in the message. Allowed: data, event, id, retry, comment.',
    });
  });

  it('rejects a message that is not an object', () => {
    expectSseError(() => formatEvent('hello' as never), {
      ...FIELD,
      message: 'A message must be an object, got "hello".',
    });
  });

  it('rejects a non-string comment', () => {
    expectSseError(() => formatEvent({ comment: {} as string }), {
      ...FIELD,
      message: 'Field `comment` must be a string, got an object ([object Object]).',
    });
  });
});

describe('serializeData', () => {
  it('refuses undefined: clients never dispatch an event without data', () => {
    expectSseError(() => serializeData(undefined), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_DATA',
      message:
        'Cannot send `undefined` as data: clients never dispatch an event without data. Send "" for an empty event, or null.',
    });
  });

  it('returns strings untouched without calling the serializer', () => {
    let calls = 0;
    expect(
      serializeData('x', () => {
        calls++;
        return '';
      }),
    ).toBe('x');
    expect(calls).toBe(0);
  });
});

describe('checkId', () => {
  it('returns numbers as decimal strings', () => {
    expect(checkId(12)).toBe('12');
    expect(checkId(-3)).toBe('-3');
  });
});

describe('error classes', () => {
  it('are the built-in classes too, so callers that do not know ssekit can catch them', () => {
    expect(new SseTypeError('SSE_INVALID_FIELD', 'x')).toBeInstanceOf(TypeError);
    expect(new SseRangeError('SSE_INVALID_RETRY', 'x')).toBeInstanceOf(RangeError);
    expect(new SseError('SSE_INVALID_OPTION', 'x')).toBeInstanceOf(Error);
    expect(new SseError('SSE_INVALID_OPTION', 'x').name).toBe('SseError');
  });
});
