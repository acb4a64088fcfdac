import net from 'node:net';
import { HttpResponseReader, MalformedResponseError } from '../../bench/src/client/http-response.js';
import { type SseEvent, SseEventParser } from '../../bench/src/client/sse-event-parser.js';

export { LatencyHistogram, type LatencySummary } from '../../bench/src/client/histogram.js';

/**
 * A lean SSE client for load tests: one raw `net` socket per connection, the bench's HTTP/1.1 response reader
 * (status line, headers, chunked or plain body) and its complete `text/event-stream` parser. `node:http` plus
 * `eventsource-parser` costs several objects and closures per connection; with 10,000 connections in one process the
 * client, not the server, would become the bottleneck being measured.
 */

/** One event as the load client saw it. */
export type LoadEvent = SseEvent;

/** What a load connection reports to its owner. */
export interface LoadHandlers {
  onEvent?(connection: LoadConnection, event: LoadEvent): void;
  onRetry?(connection: LoadConnection, retry: number): void;
  onEnd?(connection: LoadConnection): void;
}

/** Options of one load connection. */
export interface LoadConnectOptions extends LoadHandlers {
  port: number;
  host?: string;
  /** Path and query. Default `/`. */
  path?: string;
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** A request body, sent with its content-length (a POST that starts a resumable stream). */
  body?: string;
}

/** One SSE connection over a raw socket. */
export class LoadConnection {
  /** True once the server ended the response or the socket closed. */
  ended = false;
  /** True when the server finished the response cleanly (the last chunk of a chunked body arrived). */
  complete = false;
  readonly socket: net.Socket;

  private readonly parser: SseEventParser;
  private readonly response: HttpResponseReader;
  private readonly handlers: LoadHandlers;
  private onHead: ((error?: Error) => void) | undefined;

  constructor(socket: net.Socket, handlers: LoadHandlers, onHead: (error?: Error) => void) {
    this.socket = socket;
    this.handlers = handlers;
    this.onHead = onHead;
    this.parser = new SseEventParser({
      event: (event) => handlers.onEvent?.(this, event),
      retry: (ms) => handlers.onRetry?.(this, ms),
    });
    // The head promise settles before the body of the same read reaches the handlers, as a real client's would.
    this.response = new HttpResponseReader(this.parser, () => this.headArrived());
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.finish());
    socket.on('close', () => this.finish());
  }

  /** HTTP status, once the head has arrived. */
  get status(): number {
    return this.response.status;
  }

  /** Response headers by lower-case name. */
  get headers(): Record<string, string> {
    return this.response.headers;
  }

  /** Events dispatched so far. */
  get events(): number {
    return this.parser.events;
  }

  /** Bytes of body received (after de-chunking). */
  get bodyBytes(): number {
    return this.parser.bytes;
  }

  /** The id of the last complete event, as `EventSource` keeps it (an event cut off mid-way does not count). */
  get lastEventId(): string {
    return this.parser.lastEventId;
  }

  /** The last `retry:` value seen. */
  get retry(): number | undefined {
    return this.parser.retry;
  }

  /** Stops reading: the kernel buffers fill and the server sees backpressure. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Leaves politely (FIN). */
  close(): void {
    this.socket.destroy();
  }

  /** Leaves abruptly (RST), like a phone dropping off the network. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.onHead) {
      const done = this.onHead;
      this.onHead = undefined;
      done(new Error('The connection closed before a response head arrived.'));
    }
    this.handlers.onEnd?.(this);
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    try {
      this.response.push(chunk, 0, chunk.length);
    } catch (error) {
      // A handler's own error is the test's to see; only a malformed response ends the connection here.
      if (!(error instanceof MalformedResponseError)) throw error;
      this.fail(error);
      return;
    }
    if (this.response.complete) {
      this.complete = true;
      this.socket.destroy();
      this.finish();
    }
  }

  private headArrived(): void {
    const done = this.onHead;
    this.onHead = undefined;
    done?.();
  }

  /** A malformed response: the head promise rejects with what was wrong, and the connection ends. */
  private fail(error: Error): void {
    if (this.onHead) {
      const done = this.onHead;
      this.onHead = undefined;
      done(new Error(`The response is malformed: ${error.message}`));
    }
    this.socket.destroy();
    this.finish();
  }
}

/** Opens one SSE connection; resolves once the response head arrived (any status). */
export function openLoadConnection(options: LoadConnectOptions): Promise<LoadConnection> {
  return new Promise((resolve, reject) => {
    const host = options.host ?? '127.0.0.1';
    const socket = net.connect({ port: options.port, host, noDelay: true });
    const headers: Record<string, string> = {
      host: `${host}:${options.port}`,
      accept: 'text/event-stream',
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    let request = `${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) request += `${name}: ${value}\r\n`;
    socket.write(`${request}\r\n${options.body ?? ''}`);
    const connection = new LoadConnection(socket, options, (error) => {
      if (error) reject(error);
      else resolve(connection);
    });
  });
}

/**
 * Opens `count` connections, at most `concurrency` handshakes at a time (a burst of thousands of SYNs would overflow
 * the listen backlog and stall on SYN retransmits, which measures the kernel, not ssekit).
 */
export async function openLoadConnections(
  count: number,
  options: LoadConnectOptions | ((index: number) => LoadConnectOptions),
  concurrency = 200,
): Promise<LoadConnection[]> {
  const connections: LoadConnection[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      connections[index] = await openLoadConnection(typeof options === 'function' ? options(index) : options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return connections;
}

/** Wall-clock time in ms with sub-millisecond precision, comparable between processes on one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
