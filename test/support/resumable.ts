import type http from 'node:http';
import type { EventData, Hub, SseStream } from '@ssekit/core';
import { type ConnectOptions, openConnection, resolveConnectOptions, runRouteHandler } from '@ssekit/core/adapter';
import { type RawSse, rawSse } from './clients.js';
import { type StreamServer, serveStreams } from './stream-server.js';
import { waitFor } from './wait.js';

/**
 * Serves one resumable route of `hub` on every path, as the adapters do (`resolveConnectOptions` once,
 * `openConnection` and `runRouteHandler` per request); errors before the head are answered with their `statusCode`.
 */
export function serveResumable(
  hub: Hub,
  options: Omit<ConnectOptions<http.IncomingMessage>, 'hub'>,
  handler: (stream: SseStream, req: http.IncomingMessage) => unknown,
): Promise<StreamServer> {
  const route = resolveConnectOptions<http.IncomingMessage>({ heartbeat: false, resumable: true, ...options, hub });
  return serveStreams(async (req, res) => {
    const stream = await openConnection(hub, route, req, req, res);
    if (stream !== undefined) void runRouteHandler(route, stream, () => handler(stream, req));
    return stream;
  });
}

/** POSTs `body` to start a resumable stream (no key header). */
export function startStream(url: string, body = '{}', headers: Record<string, string> = {}): Promise<RawSse> {
  return rawSse(url, { 'content-type': 'application/json', ...headers }, { method: 'POST', body });
}

/** Resumes a stream: the same URL and method, its key, and the last id seen when given; no body. */
export function resumeStream(
  url: string,
  key: string,
  lastEventId?: string,
  headers: Record<string, string> = {},
): Promise<RawSse> {
  const all: Record<string, string> = { 'ssekit-stream-key': key, ...headers };
  if (lastEventId !== undefined) all['last-event-id'] = lastEventId;
  return rawSse(url, all, { method: 'POST' });
}

/** Cancels a stream over HTTP; resolves with the answer (204 when cancelled). */
export function cancelStreamOver(url: string, key: string, headers: Record<string, string> = {}): Promise<RawSse> {
  return rawSse(url, { 'ssekit-stream-key': key, 'ssekit-stream-action': 'cancel', ...headers }, { method: 'POST' });
}

/** The stream key a start was answered with. */
export function keyOf(raw: RawSse): string {
  return raw.headers['ssekit-stream-key'] as string;
}

/** Waits for the response to end and returns `[event, data]` of every event with its id, in order. */
export async function readToEnd(raw: RawSse, timeout = 5000): Promise<[string, string, string][]> {
  await raw.waitForEnd(timeout);
  return raw.events.map((event) => [event.id ?? '', event.event ?? 'message', event.data]);
}

/**
 * A producer the test drives: items are pushed, the stream is ended or failed on demand. `runs` counts how many
 * times the producer was called; `signal` is the last signal it got.
 */
export interface Feed {
  push(event: string, data: EventData): void;
  end(): void;
  fail(error: Error): void;
  runs: number;
  signal: AbortSignal | undefined;
  producer: (signal: AbortSignal) => AsyncIterable<{ event: string; data: EventData }>;
}

export function feed(): Feed {
  const items: { event: string; data: EventData }[] = [];
  let done = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  const state: Feed = {
    runs: 0,
    signal: undefined,
    push(event, data) {
      items.push({ event, data });
      poke();
    },
    end() {
      done = true;
      poke();
    },
    fail(error) {
      failure = error;
      poke();
    },
    producer(signal) {
      state.runs++;
      state.signal = signal;
      return (async function* () {
        for (;;) {
          const item = items.shift();
          if (item !== undefined) {
            yield item;
            continue;
          }
          if (failure !== undefined) throw failure;
          if (done || signal.aborted) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
      })();
    },
  };
  return state;
}

/** Waits until the feed's producer was called. */
export async function producing(state: Feed): Promise<void> {
  await waitFor(() => state.runs > 0, 'the producer to start');
}
