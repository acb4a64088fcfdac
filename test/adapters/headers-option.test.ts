import http from 'node:http';
import { createStream, SseTypeError } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { checkSseError, expectSseError } from '../support/errors.js';
import { adapters } from './harness.js';

// Issue 10 bug 2: a `headers` option Node would refuse at request time is refused when the route is declared, with
// Node's own rules; before, Express answered 500 to every request and Fastify never answered at all.

const BAD_HEADERS: [what: string, headers: Record<string, unknown>, message: RegExp][] = [
  ['a value with CR/LF', { 'X-Note': 'a\r\nSet-Cookie: x=1' }, /header "X-Note" has an invalid value/],
  ['an undefined value', { 'X-Note': undefined }, /header "X-Note" must be a string, a finite number/],
  ['a value outside Latin-1', { 'X-Note': 'price in €' }, /header "X-Note" has an invalid value .*outside Latin-1/],
  ['an array with a bad value', { 'X-Note': ['ok', 'bad\n'] }, /header "X-Note" has an invalid value/],
  ['a name that is not a token', { 'X Note': 'ok' }, /"X Note" is not a valid header name/],
];

describe.each(adapters)('$name: the headers option', (adapter) => {
  it.each(BAD_HEADERS)('refuses %s when the route is declared, naming the header', async (_what, headers, message) => {
    const error = await adapter.setupError({ headers });
    checkSseError(error, { base: TypeError, type: SseTypeError, code: 'SSE_INVALID_OPTION', message });
  });

  it('accepts strings, numbers, arrays and Latin-1 text', async () => {
    const headers = { 'X-Note': 'café', 'X-Count': 3, 'X-List': ['a', 'b'], 'Access-Control-Allow-Origin': '*' };
    expect(await adapter.setupError({ headers })).toBeUndefined();
  });
});

describe('createStream: the headers option', () => {
  it.each(BAD_HEADERS)('refuses %s before anything is written', (_what, headers, message) => {
    const res = new http.ServerResponse(new http.IncomingMessage(null as never));
    expectSseError(() => createStream(res.req, res, { headers: headers as never }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message,
    });
    expect(res.headersSent).toBe(false);
  });
});
