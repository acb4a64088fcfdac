import { MAX_LAST_EVENT_ID_LENGTH } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { open, server, teardown } from '../../../test/support/stream-harness.js';

describe('lastEventId', () => {
  it('comes from the Last-Event-ID header', async () => {
    const { url } = await open();
    const raw = await rawSse(url, { 'last-event-id': 'abc-42' });
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.lastEventId).toBe('abc-42');
    expect(stream.lastEventIdInvalid).toBe(false);
  });

  it('falls back to the lastEventId query parameter polyfills use', async () => {
    const { url } = await open();
    const raw = await rawSse(`${url}/events?topic=a&lastEventId=q%20id-7`);
    teardown.defer(raw.close);
    expect((await server!.stream()).lastEventId).toBe('q id-7');
  });

  it('prefers the header over the query parameter', async () => {
    const { url } = await open();
    const raw = await rawSse(`${url}/?lastEventId=from-query`, { 'last-event-id': 'from-header' });
    teardown.defer(raw.close);
    expect((await server!.stream()).lastEventId).toBe('from-header');
  });

  it('is undefined when the client sent none', async () => {
    const { url } = await open();
    const raw = await rawSse(url);
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.lastEventId).toBeUndefined();
    expect(stream.lastEventIdInvalid).toBe(false);
  });

  it('ignores an oversized Last-Event-ID and flags it', async () => {
    const { url } = await open();
    const raw = await rawSse(url, { 'last-event-id': 'x'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1) });
    teardown.defer(raw.close);
    const stream = await server!.stream();
    expect(stream.lastEventId).toBeUndefined();
    expect(stream.lastEventIdInvalid).toBe(true);
  });

  it('accepts one of exactly the maximum length', async () => {
    const { url } = await open();
    const id = 'y'.repeat(MAX_LAST_EVENT_ID_LENGTH);
    const raw = await rawSse(url, { 'last-event-id': id });
    teardown.defer(raw.close);
    expect((await server!.stream()).lastEventId).toBe(id);
  });

  it('ignores a Last-Event-ID with control characters and flags it', async () => {
    const { url } = await open();
    const raw = await rawSse(`${url}/?lastEventId=a%00b`);
    teardown.defer(raw.close);
    const tab = await rawSse(url, { 'last-event-id': 'a\tb' });
    teardown.defer(tab.close);
    for (const stream of [await server!.stream(0), await server!.stream(1)]) {
      expect(stream.lastEventId).toBeUndefined();
      expect(stream.lastEventIdInvalid).toBe(true);
    }
  });
});
