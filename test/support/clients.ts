import http from 'node:http';
import { EventSource, type FetchLike } from 'eventsource';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { waitFor } from './wait.js';

/** An event as a client saw it. */
export interface Received {
  type: string;
  data: string;
  lastEventId: string;
}

/** A real `EventSource` (the `eventsource` package) that records what it receives. */
export interface RecordingEventSource {
  es: EventSource;
  events: Received[];
  opens: number;
  errors: { code?: number | undefined; message?: string | undefined }[];
  /** Waits until at least `count` events arrived; returns them all. */
  waitForEvents(count: number, timeout?: number): Promise<Received[]>;
  waitForOpen(count?: number, timeout?: number): Promise<void>;
  close(): void;
}

/**
 * Opens an `EventSource` on `url`, recording `message` events and the named `eventTypes`. Reconnects as the spec
 * says (the package implements it), so tests can observe `Last-Event-ID` resume.
 */
export function openEventSource(
  url: string,
  options: { eventTypes?: string[]; headers?: Record<string, string>; fetch?: FetchLike } = {},
): RecordingEventSource {
  const extra = options.headers;
  const es = new EventSource(url, {
    fetch:
      options.fetch ??
      (extra ? (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...extra } }) : undefined),
  });
  const recorder: RecordingEventSource = {
    es,
    events: [],
    opens: 0,
    errors: [],
    async waitForEvents(count, timeout = 5000) {
      await waitFor(() => recorder.events.length >= count, `${count} events (got ${recorder.events.length})`, timeout);
      return recorder.events;
    },
    async waitForOpen(count = 1, timeout = 5000) {
      await waitFor(() => recorder.opens >= count, `${count} open(s)`, timeout);
    },
    close: () => es.close(),
  };
  const record = (event: MessageEvent) =>
    recorder.events.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
  es.addEventListener('message', record);
  for (const type of options.eventTypes ?? []) es.addEventListener(type, record);
  es.addEventListener('open', () => recorder.opens++);
  es.addEventListener('error', (event) => recorder.errors.push({ code: event.code, message: event.message }));
  return recorder;
}

/** A raw HTTP client that parses the stream with `eventsource-parser` and keeps the exact bytes. */
export interface RawSse {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  text: string;
  ended: boolean;
  response: http.IncomingMessage;
  waitForEvents(count: number, timeout?: number): Promise<EventSourceMessage[]>;
  waitForText(fragment: string, timeout?: number): Promise<void>;
  waitForEnd(timeout?: number): Promise<void>;
  close(): void;
}

/**
 * Opens `url` with `node:http` and resolves once the response head arrived. `init` makes it another method, with a
 * body (a POST to a resumable route).
 */
export function rawSse(
  url: string,
  headers: Record<string, string> = {},
  init: { method?: string; body?: string } = {},
): Promise<RawSse> {
  return new Promise((resolve, reject) => {
    const method = init.method ?? 'GET';
    const all = { accept: 'text/event-stream', ...headers };
    const req = http.request(url, { method, headers: all }, (response) => {
      const client: RawSse = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        events: [],
        comments: [],
        retries: [],
        text: '',
        ended: false,
        response,
        async waitForEvents(count, timeout = 5000) {
          await waitFor(() => client.events.length >= count, `${count} events (got ${client.events.length})`, timeout);
          return client.events;
        },
        async waitForText(fragment, timeout = 5000) {
          await waitFor(() => client.text.includes(fragment), JSON.stringify(fragment), timeout);
        },
        async waitForEnd(timeout = 5000) {
          await waitFor(() => client.ended, 'the response to end', timeout);
        },
        close: () => req.destroy(),
      };
      const parser = createParser({
        onEvent: (event) => client.events.push(event),
        onComment: (comment) => client.comments.push(comment),
        onRetry: (retry) => client.retries.push(retry),
      });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        client.text += chunk;
        parser.feed(chunk);
      });
      response.on('end', () => {
        client.ended = true;
      });
      response.on('close', () => {
        client.ended = true;
      });
      response.on('error', () => {
        client.ended = true;
      });
      resolve(client);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
