import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { backoffDelay } from './backoff.js';
import { SseClientError } from './errors.js';
import type { EventMap, SseEvent, UntypedEvents } from './events.js';
import type { ConnectOptions, SseClient } from './options.js';
import { DONE_EVENT, ERROR_EVENT, RESET_EVENT, STREAM_EVENT, STREAM_KEY_HEADER } from './protocol.js';
import { checkResponse, requestCancel, requestHeaders, sentence } from './request.js';
import { resolveOptions } from './validate.js';

type Listener = (data: unknown, event: SseEvent) => void;

/** Events an iterator has not taken yet; past this many the client stops reading the response (backpressure). */
const HIGH_WATER_MARK = 1024;

/**
 * Opens a Server-Sent Events stream with `fetch` and keeps it open: reconnects with backoff and `Last-Event-ID`,
 * resumes ssekit's resumable streams by their key without sending the body again, and stops on a terminal event,
 * a 4xx, `close()` or the signal. Read it with `for await (const event of client)`, `on(name, listener)` or
 * `onEvent`; type the events with an event map: `connect<ChatEvents>(url, options)`.
 *
 * The request starts at once: add listeners or start iterating in the same tick, as with `EventSource`. Throws
 * `SSE_CLIENT_INVALID_OPTION` synchronously for a bad argument; every later failure goes to `onError`, `done` and
 * the iterator.
 */
export function connect<Events extends EventMap = UntypedEvents>(
  url: string | URL,
  options: ConnectOptions<Events> = {},
): SseClient<Events> {
  const config = resolveOptions(url, options);
  const { fetch, retry, parse, signal } = { ...config, signal: options.signal };
  const listeners = new Map<string, Set<Listener>>();
  const queue: SseEvent[] = [];
  let state: SseClient['state'] = 'connecting';
  let lastEventId = options.lastEventId ?? '';
  let key = options.streamKey;
  let serverRetry: number | undefined;
  let attempt = 0;
  let opened = false;
  let request: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let failure: SseClientError | undefined;
  let iterated = false;
  let iterating = false;
  // The iterator waiting for an event, and the reader waiting for the iterator to take some.
  let wakeIterator: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  // A function, not a comparison, so that TypeScript does not narrow `state` across the awaits that change it.
  const closed = () => state === 'closed';
  let settle!: (error?: SseClientError) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  // `done` is there for whoever awaits it; a client used through callbacks alone must not see an unhandled rejection.
  done.catch(() => undefined);

  // Events wait in the queue for the iterator, or for anyone when nobody listens yet (see docs/client.md).
  const holding = () => iterating || (options.onEvent === undefined && listeners.size === 0 && !iterated);

  const wake = () => {
    wakeIterator?.();
    wakeReader?.();
    wakeIterator = wakeReader = undefined;
  };

  function finish(error?: SseClientError): void {
    if (closed()) return;
    state = 'closed';
    failure = error;
    clearTimeout(timer);
    clearTimeout(idle);
    request?.abort();
    signal?.removeEventListener('abort', close);
    wake();
    settle(error);
    if (error !== undefined && options.onError !== undefined) {
      try {
        options.onError(error);
      } catch (thrown) {
        // The client has stopped already: there is nobody left to tell but the runtime.
        queueMicrotask(() => {
          throw thrown;
        });
      }
    }
  }

  function close(): void {
    queue.length = 0;
    finish();
  }

  /** Runs a user callback; a throw stops the client, since the app did not take what was delivered. */
  function call<T extends unknown[]>(callback: ((...args: T) => void) | undefined, ...args: T): void {
    try {
      callback?.(...args);
    } catch (thrown) {
      finish(new SseClientError('SSE_CLIENT_LISTENER_ERROR', `A listener threw: ${thrown}`, { cause: thrown }));
    }
  }

  function dispatch(message: EventSourceMessage) {
    if (closed()) return;
    if (message.id !== undefined) lastEventId = message.id;
    const name = message.event ?? 'message';
    // ssekit's own events are JSON whatever `parse` does with the app's.
    const own =
      name === STREAM_EVENT ||
      name === DONE_EVENT ||
      name === ERROR_EVENT ||
      (name === RESET_EVENT && key !== undefined);
    let data: unknown;
    try {
      data = own ? JSON.parse(message.data) : parse(message.data, name);
    } catch (cause) {
      return finish(
        new SseClientError(
          'SSE_CLIENT_INVALID_DATA',
          `The data of event "${name}" could not be parsed (${cause}); pass a parse option that accepts it.`,
          { cause },
        ),
      );
    }
    if (name === STREAM_EVENT) {
      key = (data as { key?: string } | null)?.key ?? key;
      return;
    }
    if (name === DONE_EVENT) return finish();
    if (name === ERROR_EVENT || (name === RESET_EVENT && key !== undefined)) {
      const { reason, message: text } = (data ?? {}) as { reason?: string; message?: string };
      const code = name === ERROR_EVENT ? 'SSE_CLIENT_STREAM_ERROR' : 'SSE_CLIENT_STREAM_RESET';
      const what = name === ERROR_EVENT ? 'The stream ended with an error' : 'The stream cannot be resumed';
      return finish(new SseClientError(code, sentence(`${what}: ${reason}${text ? ` (${text})` : ''}`), { reason }));
    }
    const event = { event: name, data, id: lastEventId };
    call(options.onEvent as ((event: SseEvent) => void) | undefined, event);
    for (const listener of listeners.get(name) ?? []) call(listener, data, event);
    if (!closed() && holding()) {
      queue.push(event);
      wakeIterator?.();
      wakeIterator = undefined;
    }
  }

  /** Reads one response until it ends (returns) or drops (throws), pausing while the iterator lags. */
  async function read(body: ReadableStream<Uint8Array>, controller: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = createParser({ onEvent: dispatch, onRetry: (ms) => (serverRetry = ms) });
    const arm = () => {
      clearTimeout(idle);
      if (config.idleTimeout > 0) {
        idle = setTimeout(() => {
          const message = `Nothing arrived for ${config.idleTimeout} ms (options.idleTimeout).`;
          controller.abort(new SseClientError('SSE_CLIENT_CONNECTION_LOST', message));
        }, config.idleTimeout);
      }
    };
    try {
      arm();
      while (!closed()) {
        while (queue.length >= HIGH_WATER_MARK && holding() && !closed()) {
          clearTimeout(idle);
          await new Promise<void>((resolve) => (wakeReader = resolve));
          arm();
        }
        const chunk = await reader.read();
        if (chunk.done) return;
        arm();
        parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
    } finally {
      clearTimeout(idle);
      reader.cancel().catch(() => undefined);
    }
  }

  async function open(): Promise<void> {
    const controller = new AbortController();
    request = controller;
    const resuming = key !== undefined;
    const extra: Record<string, string> = {};
    if (lastEventId !== '') extra['last-event-id'] = lastEventId;
    if (resuming) extra[STREAM_KEY_HEADER] = key as string;
    let cause: unknown;
    try {
      const response = await fetch(config.url, {
        method: config.method,
        headers: requestHeaders(options.headers, extra),
        // The body starts the work; once a stream has a key or has opened, sending it again would start it twice.
        body: (resuming || opened ? undefined : options.body) as RequestInit['body'],
        credentials: options.credentials,
        cache: 'no-store',
        signal: controller.signal,
      } as RequestInit);
      const verdict = await checkResponse(response, config);
      if (verdict !== undefined) return finish(verdict.end);
      key = response.headers.get(STREAM_KEY_HEADER) ?? key;
      opened = true;
      attempt = 0;
      state = 'open';
      call(options.onOpen, response);
      await read(response.body as ReadableStream<Uint8Array>, controller);
      if (closed()) return;
      // A clean end without a key: an EventSource reconnects; a request that carried a body (or may not reconnect)
      // has nothing more to say.
      if (key === undefined && (options.body !== undefined || retry === undefined)) return finish();
      cause = new SseClientError(
        'SSE_CLIENT_CONNECTION_LOST',
        'The server ended the response before a terminal event.',
      );
    } catch (error) {
      if (closed()) return;
      cause = error;
      if (key === undefined && options.body !== undefined && opened) {
        return finish(
          new SseClientError(
            'SSE_CLIENT_CONNECTION_LOST',
            'The stream dropped and cannot be resumed without sending the body again: make the route resumable.',
            { cause },
          ),
        );
      }
    }
    reconnect(cause);
  }

  function reconnect(cause: unknown) {
    state = 'connecting';
    attempt++;
    if (retry === undefined) {
      return finish(
        cause instanceof SseClientError
          ? cause
          : new SseClientError('SSE_CLIENT_CONNECTION_LOST', `The connection failed: ${cause}`, { cause }),
      );
    }
    if (attempt > retry.maxAttempts) {
      return finish(
        new SseClientError(
          'SSE_CLIENT_RETRIES_EXHAUSTED',
          `Gave up after ${retry.maxAttempts} failed reconnect(s) in a row (retry.maxAttempts); the last failure: ${cause}`,
          { cause, status: (cause as SseClientError).status },
        ),
      );
    }
    const delay = backoffDelay(attempt, serverRetry ?? retry.initialDelay, retry);
    call(options.onRetry, { attempt, delay, cause });
    if (!closed()) timer = setTimeout(run, delay);
  }

  function run(): void {
    open().catch((error: unknown) =>
      finish(new SseClientError('SSE_CLIENT_LISTENER_ERROR', `Unexpected failure: ${error}`, { cause: error })),
    );
  }

  const client: SseClient<Events> = {
    get state() {
      return state;
    },
    get lastEventId() {
      return lastEventId;
    },
    get streamKey() {
      return key;
    },
    done,
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set.add(listener as Listener));
      wakeReader?.();
      return () => {
        set.delete(listener as Listener);
        if (set.size === 0 && listeners.get(event) === set) listeners.delete(event);
      };
    },
    close,
    async cancel() {
      if (key === undefined) {
        throw new SseClientError(
          'SSE_CLIENT_NOT_RESUMABLE',
          'cancel(): the stream has no key (yet): it is not resumable.',
        );
      }
      close();
      await requestCancel(config, options, key);
    },
    [Symbol.asyncIterator]() {
      if (iterated) {
        throw new SseClientError('SSE_CLIENT_ALREADY_ITERATED', 'A client can be iterated once: connect() again.');
      }
      iterated = iterating = true;
      wakeReader?.();
      let thrown = false;
      return {
        async next(): Promise<IteratorResult<SseEvent<Events>>> {
          for (;;) {
            const event = queue.shift();
            if (event !== undefined) {
              if (queue.length < HIGH_WATER_MARK) wakeReader?.();
              return { done: false, value: event as SseEvent<Events> };
            }
            if (closed()) {
              if (failure !== undefined && !thrown) {
                thrown = true;
                throw failure;
              }
              return { done: true, value: undefined };
            }
            await new Promise<void>((resolve) => (wakeIterator = resolve));
          }
        },
        async return(): Promise<IteratorResult<SseEvent<Events>>> {
          iterating = false;
          close();
          return { done: true, value: undefined };
        },
      };
    },
  };

  if (signal?.aborted) {
    finish();
  } else {
    signal?.addEventListener('abort', close);
    run();
  }
  return client;
}
