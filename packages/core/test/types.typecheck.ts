// Compiled by `pnpm typecheck` (tsconfig.json includes packages/*/test), never run. Each `@ts-expect-error` marks a
// call that fails at run time and must fail to compile: an unused directive is itself an error, so this file stops
// compiling if the type that catches the mistake is ever loosened. The plain calls around them must keep compiling.
import type http from 'node:http';
import { createHub, formatEvent, type SseStream } from '@ssekit/core';
import type { ConnectOptions } from '@ssekit/core/adapter';

declare const stream: SseStream;
declare const delay: number;
declare const payload: unknown;
const hub = createHub();

// Data: anything but undefined (clients never dispatch an event without data).
// @ts-expect-error undefined is not event data
stream.send(undefined);
// @ts-expect-error undefined is not event data
void hub.send('alice', undefined);
// @ts-expect-error undefined is not event data
void hub.publish('news', undefined);
// @ts-expect-error undefined is not event data
void hub.broadcast(undefined);
stream.send(null);
stream.send('text');
stream.send({ n: 1 });
stream.send(Buffer.from('bytes'));
void hub.broadcast(0);
void hub.send('alice', payload as object);
formatEvent({ data: 'x' });
formatEvent({ comment: 'no data' });

// A negative retry literal.
// @ts-expect-error a retry delay is not negative
stream.send('x', { retry: -1 });
// @ts-expect-error a retry delay is not negative
stream.close({ retry: -1 });
// @ts-expect-error a retry delay is not negative
void hub.close({ retry: -1 });
// @ts-expect-error a retry jitter is not negative
void hub.close({ jitter: -5 });
// @ts-expect-error a retry delay is not negative
void hub.broadcast('x', { retry: -250 });
// @ts-expect-error a retry delay is not negative
hub.disconnect('alice', { retry: -1 });
// @ts-expect-error a retry delay is not negative
formatEvent({ data: 'x', retry: -1 });
stream.send('x', { retry: 0 });
stream.send('x', { retry: 1500, event: 'tick', id: 7 });
stream.send('x', { retry: delay });
stream.close();
stream.close({ retry: 2000 });
void hub.close({ retry: 1000, jitter: 500 });
void hub.close({ retry: delay });
formatEvent({ data: 'x', retry: 3000 });

// topics(): a bare string would be read letter by letter.
const bare: ConnectOptions<http.IncomingMessage> = {
  // @ts-expect-error topics() must return a list, not a bare string
  topics: () => 'news',
};
const asyncBare: ConnectOptions<http.IncomingMessage> = {
  // @ts-expect-error topics() must return a list, not a bare string
  topics: async () => 'news',
};
const lists: ConnectOptions<http.IncomingMessage>[] = [
  { topics: () => ['news'] },
  { topics: () => new Set(['news', 'sport']) },
  { topics: async () => ['news'] },
  { topics: () => undefined },
  { topics: (req) => (req.url === '/' ? null : ['news']) },
];
void [bare, asyncBare, lists];
