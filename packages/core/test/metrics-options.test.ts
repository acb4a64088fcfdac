import { createHub, type Hub, type HubOptions, SseError, SseTypeError } from '@ssekit/core';
import { resolveConnectOptions } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { expectSseError } from '../../../test/support/errors.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

const teardown = closeAfterEach();

function hubWith(options: HubOptions): Hub {
  return teardown.track(createHub(options));
}

describe('a hub’s name and metrics options', () => {
  it('names a hub hub-<n> unless it is given a name', () => {
    expect(hubWith({}).name).toMatch(/^hub-\d+$/);
    expect(hubWith({ name: 'orders' }).name).toBe('orders');
  });

  it.each([
    ['an empty string', ''],
    ['a space', 'my hub'],
    ['more than 64 characters', 'h'.repeat(65)],
    ['a number', 42],
  ])('refuses a name that is %s', (_what, name) => {
    expectSseError(() => createHub({ name: name as string }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message: /^Option `name` must be 1 to 64 letters, digits/,
    });
  });

  it('refuses a second open hub with the same name, and takes the name again once the first is closed', async () => {
    const first = createHub({ name: 'twice' });
    expectSseError(() => createHub({ name: 'twice' }), {
      base: Error,
      type: SseError,
      code: 'SSE_INVALID_OPTION',
      message: /another open hub is named "twice"; their metrics would mix/,
    });
    await first.close();
    expect(hubWith({ name: 'twice' }).name).toBe('twice');
  });

  it('lets hubs that record no metrics share a name', () => {
    hubWith({ name: 'quiet', metrics: false });
    expect(hubWith({ name: 'quiet', metrics: false }).name).toBe('quiet');
  });

  it('refuses a metrics option that is not a boolean', () => {
    expectSseError(() => createHub({ metrics: 'yes' as unknown as boolean }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message: 'Option `metrics` must be true or false, got "yes".',
    });
  });

  it('refuses a meterProvider without getMeter()', () => {
    expectSseError(() => createHub({ meterProvider: {} as never }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message:
        'Option `meterProvider` must be an OpenTelemetry MeterProvider (with getMeter()), got an object ([object Object]).',
    });
  });

  it('refuses a meterProvider whose meter is not an OpenTelemetry Meter, and frees the name it would have had', () => {
    expectSseError(() => createHub({ name: 'odd', meterProvider: { getMeter: () => ({}) } }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message:
        'Option `meterProvider`: getMeter() must return an OpenTelemetry Meter (API 1.3 or later); it has no createHistogram().',
    });
    expect(hubWith({ name: 'odd', metrics: true }).name).toBe('odd');
  });

  it('refuses metrics: false together with a meterProvider', () => {
    expectSseError(() => createHub({ metrics: false, meterProvider: { getMeter: () => ({}) } }), {
      base: Error,
      type: SseError,
      code: 'SSE_INVALID_OPTION',
      message: 'Options `metrics: false` and `meterProvider` contradict each other: drop one of them.',
    });
  });

  it('keeps stats() to its documented totals', () => {
    expect(Object.keys(hubWith({}).stats()).sort()).toEqual(
      [
        'bytesSent',
        'clients',
        'closed',
        'connections',
        'delivered',
        'disconnectsReceived',
        'disconnectsSent',
        'dropped',
        'failed',
        'published',
        'refused',
        'replayed',
        'resets',
        'topics',
      ].sort(),
    );
  });
});

describe('the route option', () => {
  it('takes a route pattern for the metrics', () => {
    expect(resolveConnectOptions({ route: '/rooms/:id/events' }).route).toBe('/rooms/:id/events');
  });

  it.each([
    ['an empty string', ''],
    ['a newline', '/events\n'],
    ['not a string', 7],
  ])('refuses a route that is %s', (_what, route) => {
    expectSseError(() => resolveConnectOptions({ route: route as string }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message: /^Option `route` must be a route pattern of 1 to 256 characters/,
    });
  });
});
