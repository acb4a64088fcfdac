import type { IncomingHttpHeaders } from 'node:http';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { FetchLike } from 'eventsource';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { openEventSource, type RecordingEventSource } from './clients.js';
import { waitFor } from './wait.js';

// Clients for servers with a self-signed certificate (the proxies the deployment tests start on 127.0.0.1): the
// certificate is not verified, which is acceptable only because every connection stays on loopback.

/** An event and the time it arrived (`Date.now()`). */
export interface TimedEvent extends EventSourceMessage {
  at: number;
}

/** An SSE response read over HTTPS/1.1 or HTTP/2, each event timestamped on arrival. */
export interface TimedStream {
  status: number;
  headers: IncomingHttpHeaders;
  events: TimedEvent[];
  comments: string[];
  /** The body as text (decompressed when the response is gzip-encoded). */
  text: string;
  /** `true` once the body ended, either way. */
  ended: boolean;
  /** `true` when it ended with the protocol's clean end (the last chunk, END_STREAM), `false` on a reset. */
  endedCleanly: boolean | undefined;
  waitForEvents(count: number, timeout?: number): Promise<TimedEvent[]>;
  waitForEnd(timeout?: number): Promise<void>;
  close(): void;
}

function timedStream(status: number, headers: IncomingHttpHeaders, close: () => void) {
  const stream: TimedStream = {
    status,
    headers,
    events: [],
    comments: [],
    text: '',
    ended: false,
    endedCleanly: undefined,
    async waitForEvents(count, timeout = 5000) {
      await waitFor(() => stream.events.length >= count, `${count} events (got ${stream.events.length})`, timeout);
      return stream.events;
    },
    async waitForEnd(timeout = 5000) {
      await waitFor(() => stream.ended, 'the response to end', timeout);
    },
    close,
  };
  const parser = createParser({
    onEvent: (event) => stream.events.push({ ...event, at: Date.now() }),
    onComment: (comment) => stream.comments.push(comment),
  });
  const feed = (chunk: string) => {
    stream.text += chunk;
    parser.feed(chunk);
  };
  const finish = (clean: boolean) => {
    if (stream.ended) return;
    stream.ended = true;
    stream.endedCleanly = clean;
  };
  return { stream, feed, finish };
}

/**
 * GETs `url` over HTTP/1.1, with TLS for an https URL, on a connection of its own, and resolves once the response
 * head arrived.
 */
export function timedSse(url: string, headers: Record<string, string> = {}): Promise<TimedStream> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const req = get(
      url,
      { agent: false, rejectUnauthorized: false, headers: { accept: 'text/event-stream', ...headers } },
      (response) => {
        const { stream, feed, finish } = timedStream(response.statusCode ?? 0, response.headers, () => req.destroy());
        // A proxy that compresses the stream: decode as it comes, so events count when they can be read.
        if (response.headers['content-encoding'] === 'gzip') {
          const gunzip = zlib.createGunzip();
          response
            .pipe(gunzip)
            .setEncoding('utf8')
            .on('data', feed)
            .on('error', () => finish(false));
        } else {
          response.setEncoding('utf8');
          response.on('data', feed);
        }
        response.on('end', () => finish(true));
        response.on('aborted', () => finish(false));
        response.on('error', () => finish(false));
        response.on('close', () => finish(response.complete));
        resolve(stream);
      },
    );
    req.on('error', reject);
  });
}

/** GETs `path` of `origin` over HTTP/2 with TLS and resolves once the response head arrived. */
export function http2Stream(origin: string, path: string): Promise<TimedStream & { protocol: string }> {
  const session = http2.connect(origin, { rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    const req = session.request({ ':path': path, accept: 'text/event-stream' });
    req.setEncoding('utf8');
    req.on('error', () => undefined);
    req.on('response', (head) => {
      const { stream, feed, finish } = timedStream(Number(head[':status']), head as IncomingHttpHeaders, () => {
        req.close();
        session.close();
      });
      req.on('data', feed);
      req.on('end', () => finish(true));
      req.on('close', () => finish(req.rstCode === http2.constants.NGHTTP2_NO_ERROR));
      resolve(Object.assign(stream, { protocol: session.alpnProtocol ?? '' }));
    });
  });
}

/**
 * A `fetch` over `node:https` that accepts a self-signed certificate, for the `eventsource` package (whose
 * default, the global fetch, cannot be told to).
 */
export const insecureFetch: FetchLike = (input, init) => {
  return new Promise((resolve, reject) => {
    const req = https.request(
      input,
      {
        method: 'GET',
        headers: init?.headers as Record<string, string> | undefined,
        agent: false,
        rejectUnauthorized: false,
      },
      (response) => {
        const headers = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) {
          headers.append(response.rawHeaders[i] as string, response.rawHeaders[i + 1] as string);
        }
        const body = Readable.toWeb(response) as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status: response.statusCode ?? 0, statusText: response.statusMessage, headers }));
      },
    );
    init?.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
    req.on('error', reject);
    req.end();
  });
};

/** A recording `EventSource` (the `eventsource` package) on an HTTPS URL with a self-signed certificate. */
export function openInsecureEventSource(url: string): RecordingEventSource {
  return openEventSource(url, { fetch: insecureFetch });
}
