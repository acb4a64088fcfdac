import { createHub, formatEvent, SseTypeError } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { expectSseError } from '../../../test/support/errors.js';
import { serveHub } from '../../../test/support/stream-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// A lone UTF-16 surrogate has no UTF-8 form: Redis would store 'room\uD800' as 'room\uFFFD' and deliver to the
// subscribers of another topic, where the memory broker delivers it as named. Core refuses such names, so both agree.

const teardown = closeAfterEach();
const LONE = 'room\uD800';

const topicError = (name: string) => ({
  base: TypeError,
  type: SseTypeError,
  code: 'SSE_INVALID_TOPIC',
  message: `The topic ${JSON.stringify(name)} contains a lone UTF-16 surrogate: it has no UTF-8 form, so a broker would store another name. Use well-formed text.`,
  statusCode: 400,
});

describe('names that are not well-formed UTF-16', () => {
  it('hub.publish refuses a topic with a lone surrogate', () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    expectSseError(() => hub.publish(LONE, 'x'), topicError(LONE));
    expectSseError(() => hub.publish('\uDC00room', 'x'), topicError('\uDC00room'));
    expect(hub.stats().published).toBe(0);
  });

  it('hub.send and hub.disconnect refuse a client id with a lone surrogate', () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    const expected = {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_CLIENT_ID',
      message: /lone UTF-16 surrogate/,
      statusCode: 400,
    } as const;
    expectSseError(() => hub.send('alice\uD83D', 'x'), expected);
    expectSseError(() => hub.disconnect('alice\uD83D'), expected);
  });

  it('stream.subscribe refuses a topic with a lone surrogate', async () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    const server = await serveHub(hub);
    teardown.track(server);
    teardown.track(await rawSse(`${server.url}/`));
    const stream = await server.stream();
    expectSseError(() => stream.subscribe(LONE), topicError(LONE));
    expect([...stream.topics]).toEqual([]);
  });

  it('an event name with a lone surrogate is refused', () => {
    expectSseError(() => formatEvent({ event: 'tick\uD800', data: 'x' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /lone UTF-16 surrogate/,
    });
  });

  it('accepts names with whole surrogate pairs (emoji)', async () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    await expect(hub.publish('room-😀', 'x')).resolves.toBeTypeOf('string');
    expect(formatEvent({ event: 'tick-😀', data: 'x' })).toBe('event: tick-😀\ndata: x\n\n');
  });
});
