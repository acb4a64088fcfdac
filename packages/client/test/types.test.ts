import { connect, type SseClient, type SseClientError, type SseEvent } from '@ssekit/client';
import { describe, expectTypeOf, it } from 'vitest';

// Typed events end to end: an event map gives the iterator a discriminated union and each listener its data's
// type. These checks run in the type checker (`pnpm typecheck`); at run time they only build the values.

type ChatEvents = { token: { text: string }; usage: { tokens: number } };

/** A client that is never started: a signal aborted already stops it before any request. */
const typedClient = () => connect<ChatEvents>('http://127.0.0.1:9/', { signal: AbortSignal.abort() });

describe('typed events', () => {
  it('iterates a union discriminated by the event name', () => {
    const client = typedClient();
    expectTypeOf(client).toEqualTypeOf<SseClient<ChatEvents>>();
    type Event = typeof client extends AsyncIterable<infer E> ? E : never;
    expectTypeOf<Event>().toEqualTypeOf<
      | { readonly event: 'token'; readonly data: { text: string }; readonly id: string }
      | { readonly event: 'usage'; readonly data: { tokens: number }; readonly id: string }
    >();
    const narrow = (event: Event) => {
      if (event.event === 'token') expectTypeOf(event.data).toEqualTypeOf<{ text: string }>();
      else expectTypeOf(event.data).toEqualTypeOf<{ tokens: number }>();
    };
    expectTypeOf(narrow).parameter(0).toEqualTypeOf<SseEvent<ChatEvents>>();
  });

  it('infers the data of on(name) from the name, and refuses a name the map lacks', () => {
    const client = typedClient();
    client.on('token', (data, event) => {
      expectTypeOf(data).toEqualTypeOf<{ text: string }>();
      expectTypeOf(event.event).toEqualTypeOf<'token'>();
    });
    client.on('usage', (data) => expectTypeOf(data.tokens).toBeNumber());
    // @ts-expect-error: 'tokens' is not an event of ChatEvents.
    client.on('tokens', () => undefined);
  });

  it('types onEvent with the same union', () => {
    connect<ChatEvents>('http://127.0.0.1:9/', {
      signal: AbortSignal.abort(),
      onEvent: (event) => expectTypeOf(event).toEqualTypeOf<SseEvent<ChatEvents>>(),
    });
  });

  it('accepts an interface as the event map', () => {
    interface Feed {
      message: string;
      price: { symbol: string; value: number };
    }
    const client = connect<Feed>('http://127.0.0.1:9/', { signal: AbortSignal.abort() });
    client.on('price', (data) => expectTypeOf(data.value).toBeNumber());
  });

  it('without a map, names are strings and data is unknown', () => {
    const client = connect('http://127.0.0.1:9/', { signal: AbortSignal.abort() });
    client.on('anything', (data, event) => {
      expectTypeOf(data).toBeUnknown();
      expectTypeOf(event.event).toBeString();
    });
  });

  it('rejects done with an SseClientError whose code is a known one', () => {
    expectTypeOf<SseClientError['code']>().toExtend<`SSE_CLIENT_${string}`>();
    expectTypeOf<SseClientError['status']>().toEqualTypeOf<number | undefined>();
  });
});
