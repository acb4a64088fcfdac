import net from 'node:net';

/**
 * A lean SSE client for load tests: one raw `net` socket per connection, a hand-written HTTP/1.1 response parser
 * (status line, headers, chunked or plain body) and a minimal `text/event-stream` parser. `node:http` plus
 * `eventsource-parser` costs several objects and closures per connection; with 10,000 connections in one process the
 * client, not the server, would become the bottleneck being measured.
 */

/** One event as the load client saw it. */
export interface LoadEvent {
  /** The `event:` field, `'message'` when absent. */
  type: string;
  data: string;
  /** The last event id after this event (as `EventSource.lastEventId`). */
  lastEventId: string;
}

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
  headers?: Record<string, string>;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** One SSE connection over a raw socket. */
export class LoadConnection {
  status = 0;
  readonly headers: Record<string, string> = {};
  /** Events dispatched so far. */
  events = 0;
  /** Bytes of body received (after de-chunking). */
  bodyBytes = 0;
  /** The id of the last complete event, as `EventSource` keeps it (an event cut off mid-way does not count). */
  lastEventId = '';
  /** The last `retry:` value seen. */
  retry: number | undefined;
  /** True once the server ended the response or the socket closed. */
  ended = false;
  /** True when the server finished the response cleanly (the last chunk of a chunked body arrived). */
  complete = false;
  readonly socket: net.Socket;

  private head: Buffer | undefined = Buffer.alloc(0);
  private chunked = false;
  // Chunked decoding state: bytes left in the current chunk, or -1 while reading a size line.
  private chunkLeft = -1;
  private sizeLine = '';
  private skipCrlf = 0;
  private readonly decoder = new TextDecoder();
  // SSE parsing state.
  private line = '';
  private data = '';
  private hasData = false;
  private type = '';
  // The id of the event being parsed; it becomes `lastEventId` only when the event is complete (as in the spec).
  private idBuffer = '';
  private lastCr = false;
  private readonly handlers: LoadHandlers;
  private onHead: ((error?: Error) => void) | undefined;

  constructor(socket: net.Socket, handlers: LoadHandlers, onHead: (error?: Error) => void) {
    this.socket = socket;
    this.handlers = handlers;
    this.onHead = onHead;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.finish());
    socket.on('close', () => this.finish());
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
    if (this.head !== undefined) {
      const all = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
      const end = all.indexOf(CRLF_CRLF);
      if (end === -1) {
        this.head = all;
        return;
      }
      this.head = undefined;
      this.parseHead(all.toString('latin1', 0, end));
      const done = this.onHead;
      this.onHead = undefined;
      done?.();
      chunk = all.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    if (!this.chunked) {
      this.body(chunk);
      return;
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.skipCrlf > 0) {
        i++;
        this.skipCrlf--;
        continue;
      }
      if (this.chunkLeft === -1) {
        const nl = chunk.indexOf(10, i);
        if (nl === -1) {
          this.sizeLine += chunk.toString('latin1', i);
          return;
        }
        this.sizeLine += chunk.toString('latin1', i, nl);
        i = nl + 1;
        const size = Number.parseInt(this.sizeLine, 16);
        this.sizeLine = '';
        if (size === 0) {
          this.complete = true;
          this.socket.destroy();
          this.finish();
          return;
        }
        this.chunkLeft = size;
        continue;
      }
      const take = Math.min(this.chunkLeft, chunk.length - i);
      this.body(chunk.subarray(i, i + take));
      i += take;
      this.chunkLeft -= take;
      if (this.chunkLeft === 0) {
        this.chunkLeft = -1;
        this.skipCrlf = 2;
      }
    }
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    this.status = Number((lines[0] ?? '').split(' ')[1]);
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon > 0) this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    this.chunked = /chunked/i.test(this.headers['transfer-encoding'] ?? '');
  }

  private body(bytes: Buffer): void {
    this.bodyBytes += bytes.length;
    const text = this.decoder.decode(bytes, { stream: true });
    if (text === '') return;
    let start = 0;
    // A CRLF pair is one line ending: skip the LF that follows a CR (possibly in the previous chunk).
    if (this.lastCr && text.charCodeAt(0) === 10) start = 1;
    this.lastCr = false;
    let lf = text.indexOf('\n', start);
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      this.processLine(this.line === '' ? text.slice(start, end) : this.line + text.slice(start, end));
      this.line = '';
      start = end + 1;
      if (end === cr) {
        if (start === text.length) {
          this.lastCr = true;
          return;
        }
        if (text.charCodeAt(start) === 10) start++;
        cr = text.indexOf('\r', start);
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    }
    if (start < text.length) this.line += text.slice(start);
  }

  private processLine(line: string): void {
    if (line === '') {
      this.lastEventId = this.idBuffer;
      if (this.hasData) {
        this.events++;
        this.handlers.onEvent?.(this, { type: this.type || 'message', data: this.data, lastEventId: this.lastEventId });
      }
      this.data = '';
      this.hasData = false;
      this.type = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (field === 'id') {
      if (!value.includes('\0')) this.idBuffer = value;
    } else if (field === 'event') {
      this.type = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.retry = Number(value);
      this.handlers.onRetry?.(this, this.retry);
    }
  }
}

/** Opens one SSE connection; resolves once the response head arrived (any status). */
export function openLoadConnection(options: LoadConnectOptions): Promise<LoadConnection> {
  return new Promise((resolve, reject) => {
    const host = options.host ?? '127.0.0.1';
    const socket = net.connect({ port: options.port, host, noDelay: true });
    const headers = { host: `${host}:${options.port}`, accept: 'text/event-stream', ...options.headers };
    let request = `GET ${options.path ?? '/'} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) request += `${name}: ${value}\r\n`;
    socket.write(`${request}\r\n`);
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

/**
 * Latency samples in a fixed-size histogram: 10 µs buckets up to 10 s, so millions of samples cost 4 MB, not a
 * growing array. Percentiles are exact to the bucket width.
 */
export class LatencyHistogram {
  private static readonly BUCKET_MS = 0.01;
  private readonly buckets = new Uint32Array(1_000_000);
  count = 0;
  max = 0;
  sum = 0;
  /** Samples beyond the last bucket (counted in the last one as well). */
  overflow = 0;

  record(ms: number): void {
    const value = Math.max(ms, 0);
    let index = Math.floor(value / LatencyHistogram.BUCKET_MS);
    if (index >= this.buckets.length) {
      index = this.buckets.length - 1;
      this.overflow++;
    }
    this.buckets[index] = (this.buckets[index] as number) + 1;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  /** The smallest latency that `p` percent of the samples do not exceed (upper edge of its bucket), in ms. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] as number;
      if (seen >= rank) return Math.min((i + 1) * LatencyHistogram.BUCKET_MS, this.max);
    }
    return this.max;
  }

  /** A summary for reports: count, mean, p50, p90, p99, p99.9 and max, in ms rounded to 0.01. */
  summary(): LatencySummary {
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      count: this.count,
      mean: round(this.count === 0 ? 0 : this.sum / this.count),
      p50: round(this.percentile(50)),
      p90: round(this.percentile(90)),
      p99: round(this.percentile(99)),
      p999: round(this.percentile(99.9)),
      max: round(this.max),
    };
  }
}

/** Latency figures in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Wall-clock time in ms with sub-millisecond precision, comparable between processes on one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
