import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import { clock, type Ticking } from './clock.js';
import { SseError } from './errors.js';
import { type Flushable, flusher, type SharedRuns } from './flusher.js';
import {
  checkEvent,
  checkId,
  checkRetry,
  checkSendOptions,
  type EventData,
  formatComment,
  formatData,
  formatEvent,
  type RetryDelay,
  type SendOptions,
  type SseMessage,
  serializeData,
} from './frame.js';
import { writeHead } from './head.js';
import { readLastEventId } from './last-event-id.js';
import { type PipeOptions, type PipeResult, type PipeSource, pipeInto } from './pipe.js';
import { isResolved, type ResolvedStreamOptions, resolveStreamOptions, type StreamOptions } from './stream-options.js';
import { assertClientId } from './validate.js';

/** A request ssekit can serve: HTTP/1.x or HTTP/2 (compatibility API). */
export type SseRequest = IncomingMessage | Http2ServerRequest;
/** A response ssekit can stream into: HTTP/1.x or HTTP/2 (compatibility API). */
export type SseResponse = ServerResponse | Http2ServerResponse;

/**
 * Why a stream ended.
 * - `client`: the client went away (tab closed, network drop, socket reset).
 * - `server`: the app called `close()` or `hub.disconnect()`, or a piped source finished.
 * - `timeout`: the stream reached its `timeout` lifetime.
 * - `slow-consumer`: the client stopped reading and more than `maxBufferedBytes` waited for it.
 * - `error`: the app's handler or a piped source threw after the stream opened.
 * - `shutdown`: `hub.close()` (or the framework closing) ended every stream.
 */
export type CloseReason = 'client' | 'server' | 'timeout' | 'slow-consumer' | 'error' | 'shutdown';

/** Events a stream emits. */
export interface StreamEvents {
  close: [reason: CloseReason, error?: unknown];
}

/** Retry hint sent before a stream is ended by `timeout` when the stream has no `retry` of its own. */
export const DEFAULT_CLOSE_RETRY = 1000;

const HEARTBEAT = Buffer.from(':\n\n');
const NO_ID = undefined;

/** Hooks a hub installs on the streams it registers. Not for application code. */
export interface StreamOwner {
  /** Called once when the stream ends, before the `close` event. */
  detach(stream: SseStream, reason: CloseReason): void;
  /** Counts bytes written and frames dropped. */
  account(bytes: number, dropped: number): void;
  subscribe(stream: SseStream, topic: string): void;
  unsubscribe(stream: SseStream, topic: string): void;
  /** Hands the stream the broadcasts it has not taken yet (through `accept`), before anything newer. */
  catchUp(stream: SseStream): void;
}

/**
 * One SSE connection: writes the head, frames events, keeps the connection alive, honours backpressure and ends
 * exactly once with a reason. Create it with {@link createStream}, or let an adapter do it (`res.sse`, `reply.sse`).
 */
export class SseStream extends EventEmitter<StreamEvents> implements Ticking, Flushable {
  /** The client id the app gave this connection, if any. */
  readonly clientId: string | undefined;
  /** The `Last-Event-ID` the client sent (header, or `lastEventId` query parameter), if valid. */
  readonly lastEventId: string | undefined;
  /** True when the client sent a `Last-Event-ID` that was too long or had control characters; it was ignored. */
  readonly lastEventIdInvalid: boolean;
  /** The topics this stream is subscribed to (kept by the hub). */
  readonly topics = new Set<string>();
  /** Why the stream ended; `undefined` while open. */
  closeReason: CloseReason | undefined;
  /** @internal The hub that registered this stream. */
  owner: StreamOwner | undefined;
  /** @internal Position in the owner's broadcast lane up to which this stream has taken frames. */
  laneCursor = 0;

  private readonly res: SseResponse;
  // The HTTP/1 socket, to send each flush at once (see rawWrite); undefined on HTTP/2.
  private socket: Socket | undefined;
  private readonly opts: ResolvedStreamOptions;
  private controller: AbortController | undefined;
  private ended = false;
  private lastWriteAt: number;
  private readonly deadline: number;
  // Frames waiting for the next flush: references to shared buffers, never copies.
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private contiguous = true;
  private marked = false;
  private congested = false;
  // While a Last-Event-ID replay runs, live frames wait here with their ids so duplicates can be dropped.
  private held: { frame: Buffer; id: string | undefined }[] | undefined;
  private heldBytes = 0;
  private drainWaiters: (() => void)[] | undefined;
  private endedPromise: Promise<undefined> | undefined;
  private resolveEnded: ((value: undefined) => void) | undefined;

  /** @internal Use {@link createStream}. */
  constructor(req: SseRequest, res: SseResponse, options: ResolvedStreamOptions, clientId?: string) {
    super();
    this.res = res;
    this.opts = options;
    this.clientId = clientId;
    const last = readLastEventId(req);
    this.lastEventId = last.id;
    this.lastEventIdInvalid = last.invalid;
    this.lastWriteAt = clock.refresh();
    this.deadline = options.timeout === false ? Number.POSITIVE_INFINITY : this.lastWriteAt + options.timeout;

    res.on('close', this.onResponseClose);
    res.on('error', this.onResponseError);
    if (isGone(res)) {
      this.end('client');
      return;
    }
    this.socket = writeHead(req, res, options.headers);
    if (options.retry !== undefined) this.write_(Buffer.from(`retry: ${options.retry}\n\n`));
    const tickEvery = Math.min(
      options.heartbeat === false ? Number.POSITIVE_INFINITY : options.heartbeat,
      options.timeout === false ? Number.POSITIVE_INFINITY : options.timeout,
    );
    if (tickEvery !== Number.POSITIVE_INFINITY) clock.add(this, tickEvery);
  }

  /** True once the stream has ended, for any reason. */
  get closed(): boolean {
    return this.ended;
  }

  /** Aborted when the stream ends, for any reason; pass it to `fetch`, database cursors, timers. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      // Created on first use: an AbortController per idle connection is memory most apps never need.
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.closeReason);
    }
    return this.controller.signal;
  }

  /**
   * Sends one event. Strings go out as they are; other values through the serializer (JSON by default).
   * @returns `true` if the event was queued for the client, `false` if the stream has ended (nothing is thrown then).
   * @throws SseTypeError for `undefined` data, data that cannot be serialized, or a bad `event`/`id`.
   * @throws SseRangeError for a bad `retry`.
   */
  send<R extends number = number>(data: EventData, options?: SendOptions<R>): boolean {
    if (this.ended) return false;
    const text = serializeData(data, this.opts.serializer);
    let event: string | undefined;
    let id: string | undefined;
    let retry: number | undefined;
    if (options !== undefined) {
      checkSendOptions(options);
      if (options.event !== undefined) checkEvent((event = options.event));
      if (options.id !== undefined) id = checkId(options.id);
      if (options.retry !== undefined) checkRetry((retry = options.retry));
    }
    this.enqueue(Buffer.from(formatData(text, event, id, retry)), flusher.next(), NO_ID);
    return true;
  }

  /** Writes a full message (any of `data`, `event`, `id`, `retry`, `comment`); see `formatEvent`. */
  write<R extends number = number>(message: SseMessage & { retry?: RetryDelay<R> }): boolean {
    if (this.ended) return false;
    this.enqueue(Buffer.from(formatEvent(message, this.opts.serializer)), flusher.next(), NO_ID);
    return true;
  }

  /** Sends a comment line, which clients ignore (a keep-alive, a debugging note). */
  comment(text = ''): boolean {
    if (this.ended) return false;
    this.enqueue(Buffer.from(formatComment(text)), flusher.next(), NO_ID);
    return true;
  }

  /**
   * Ends the stream from the server side (reason `server`). Pending events are written first.
   * @param options.retry a last `retry` hint, so the client waits that long before it reconnects.
   */
  close<R extends number = number>(options: { retry?: RetryDelay<R> } = {}): void {
    if (options.retry !== undefined) checkRetry(options.retry);
    this.end('server', undefined, options.retry);
  }

  /**
   * Sends every item of `source` as an event, in order, waiting while the client's buffer is full. Stops when the
   * source ends (and then ends the stream unless `end: false`), when the stream closes (and calls the iterator's
   * `return()` so generators run their `finally`), or when the source throws (the stream ends with reason `error`).
   * Buffers and typed arrays are decoded as UTF-8 text. Once piping started it never rejects; it rejects at once
   * (`SSE_INVALID_SOURCE`, `SSE_INVALID_FIELD`) for something that is not a source or a bad `event`.
   */

  pipe(source: PipeSource, options: PipeOptions = {}): Promise<PipeResult> {
    return pipeInto(this, source, options, this.opts.logger);
  }

  /**
   * Subscribes this connection to a topic, so `hub.publish(topic, …)` reaches it. Needs a hub (adapters attach one).
   * Events published to the topic before this call are not replayed on resume; pass topics at connect for that.
   */
  subscribe(topic: string): void {
    this.requireOwner('subscribe').subscribe(this, topic);
  }

  /** Unsubscribes this connection from a topic. */
  unsubscribe(topic: string): void {
    this.requireOwner('unsubscribe').unsubscribe(this, topic);
  }

  private requireOwner(what: string): StreamOwner {
    if (this.owner === undefined) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `Cannot ${what}: this stream is not registered with a hub. Use an adapter, or \`hub.attach(stream)\` first.`,
      );
    }
    return this.owner;
  }

  /** Resolves (with `undefined`) once the stream has ended. */
  whenEnded(): Promise<undefined> {
    if (this.ended) return Promise.resolve(undefined);
    this.endedPromise ??= new Promise<undefined>((resolve) => {
      this.resolveEnded = resolve;
    });
    return this.endedPromise;
  }

  /** Resolves when everything queued has been handed to the socket, or the stream has ended. */
  drained(): Promise<void> {
    this.owner?.catchUp(this);
    if (this.ended || (!this.congested && this.pendingBytes === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters ??= [];
      this.drainWaiters.push(resolve);
    });
  }

  /** The `maxBufferedBytes` limit of this stream. */
  get maxBufferedBytes(): number {
    return this.opts.maxBufferedBytes;
  }

  /** Bytes accepted but not yet taken by the network, for this stream. */
  get bufferedBytes(): number {
    this.owner?.catchUp(this);
    return this.pendingBytes + this.heldBytes + socketBuffered(this.res);
  }

  /** @internal True when a producer (`pipe()`) should wait for `drained()` before it sends more. */
  get saturated(): boolean {
    return this.congested || this.pendingBytes > this.opts.maxBufferedBytes / 2;
  }

  /**
   * Ends the stream exactly once: leaves the clock and the hub, writes what is pending (unless the client is gone
   * or too slow), sends a last `retry` hint for `timeout`/`shutdown`, aborts `signal`, emits `close`.
   * @internal Apps call `close()`; hubs and adapters call this with their reason.
   */
  end(reason: CloseReason, error?: unknown, retryHint?: number): void {
    if (this.ended) return;
    // Broadcasts published before the end are this stream's pending events too (taking them may end it first).
    this.owner?.catchUp(this);
    if (this.ended) return;
    this.ended = true;
    this.closeReason = reason;
    clock.delete(this);
    const res = this.res;
    res.off('close', this.onResponseClose);
    res.off('error', this.onResponseError);
    res.off('drain', this.onDrain);
    const graceful = reason === 'server' || reason === 'timeout' || reason === 'shutdown' || reason === 'error';
    // Frames held behind an unfinished replay are dropped, never written: writing them would move the client's
    // cursor past the events the replay had not sent yet. The client reconnects and gets them all from history.
    let dropped = this.pending.length + (this.held?.length ?? 0);
    const open = !isGone(res);
    if (graceful && open) {
      let hint = retryHint;
      if (hint === undefined && (reason === 'timeout' || reason === 'shutdown'))
        hint = this.opts.retry ?? DEFAULT_CLOSE_RETRY;
      if (hint !== undefined) this.pending.push(Buffer.from(`retry: ${hint}\n\n`));
      if (this.pending.length > 0) {
        const buffer = Buffer.concat(this.pending);
        dropped = 0;
        this.rawWrite(buffer);
      }
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.held = undefined;
    this.heldBytes = 0;
    if (dropped > 0) this.owner?.account(0, dropped);
    if (open) {
      try {
        if (reason === 'slow-consumer') res.destroy();
        else res.end();
      } catch {
        // A response torn down underneath us is already as ended as it gets.
      }
    }
    this.owner?.detach(this, reason);
    this.controller?.abort(reason);
    this.wakeDrainWaiters();
    this.resolveEnded?.(undefined);
    try {
      this.emit('close', reason, error);
    } catch (listenerError) {
      this.opts.logger.error(
        '[ssekit] a "close" listener threw; the error was caught so the stream could end.',
        listenerError,
      );
    }
  }

  /** @internal Called by the clock: heartbeat when idle, end when the lifetime is over. */
  tick(now: number): void {
    if (this.ended) return;
    try {
      if (now >= this.deadline) {
        this.end('timeout');
        return;
      }
      this.owner?.catchUp(this);
      if (this.ended) return;
      const heartbeat = this.opts.heartbeat;
      // Never pile heartbeats behind data that is waiting: the connection is not idle then.
      if (heartbeat !== false && now - this.lastWriteAt >= heartbeat && !this.congested && this.pending.length === 0) {
        this.write_(HEARTBEAT);
      }
    } catch (error) {
      this.opts.logger.error('[ssekit] heartbeat failed', error);
    }
  }

  /** @internal A frame from the hub (shared bytes) or from this stream's own `send`; held during a replay. */
  enqueue(frame: Buffer, seq: number, id: string | undefined): void {
    // Broadcasts still waiting in the hub's lane were published before this frame: they go first.
    this.owner?.catchUp(this);
    this.accept(frame, seq, id);
  }

  /** @internal `enqueue` without catching up with the lane: what the hub calls while handing over the lane. */
  accept(frame: Buffer, seq: number, id: string | undefined): void {
    if (this.ended) return;
    if (this.held !== undefined) {
      this.held.push({ frame, id });
      this.heldBytes += frame.length;
      if (this.heldBytes > this.opts.maxBufferedBytes) this.end('slow-consumer');
      return;
    }
    this.queueFrame(frame, seq);
  }

  /** @internal Queues a frame for the next flush, past any hold (the replay itself uses this). */
  queueFrame(frame: Buffer, seq: number): void {
    if (this.ended) return;
    const pending = this.pending;
    if (pending.length === 0) {
      this.firstSeq = seq;
      this.contiguous = true;
    } else if (seq !== this.lastSeq + 1) {
      this.contiguous = false;
    }
    this.lastSeq = seq;
    pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.congested) {
      if (this.pendingBytes + socketBuffered(this.res) > this.opts.maxBufferedBytes) this.end('slow-consumer');
      return;
    }
    if (!this.marked) {
      this.marked = true;
      flusher.mark(this);
    }
  }

  /** @internal Starts holding live frames while a replay is written. */
  hold(): void {
    if (!this.ended && this.held === undefined) this.held = [];
  }

  /** @internal Ends the hold: queues held frames, skipping those whose id the replay already sent. */
  releaseHeld(replayed: ReadonlySet<string> | undefined): void {
    if (this.held === undefined) return;
    // Broadcasts from the lane arrived during the replay too: they are held (and de-duplicated) like the others.
    this.owner?.catchUp(this);
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    this.heldBytes = 0;
    for (const { frame, id } of held) {
      if (id !== undefined && replayed?.has(id)) continue;
      this.accept(frame, flusher.next(), id);
    }
  }

  /** @internal Queues this stream for the next flush (the hub does so for broadcasts waiting in its lane). */
  markForFlush(): void {
    if (this.ended || this.marked) return;
    this.marked = true;
    flusher.mark(this);
  }

  /** @internal Writes what is pending as one buffer (shared between streams with the same run of frames). */
  flushPending(shared: SharedRuns): void {
    // Taken while still marked, so that the frames taken do not queue this stream a second time.
    this.owner?.catchUp(this);
    this.marked = false;
    const pending = this.pending;
    if (this.ended || this.congested || pending.length === 0) return;
    let buffer: Buffer;
    if (pending.length === 1) buffer = pending[0] as Buffer;
    else if (this.contiguous) buffer = shared.get(this.firstSeq, pending, this.pendingBytes);
    else buffer = Buffer.concat(pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.write_(buffer);
  }

  private write_(buffer: Buffer): void {
    const ok = this.rawWrite(buffer);
    if (this.ended) return;
    if (!ok) {
      this.congested = true;
      this.res.once('drain', this.onDrain);
      if (socketBuffered(this.res) + this.pendingBytes > this.opts.maxBufferedBytes) this.end('slow-consumer');
    } else if (this.drainWaiters !== undefined && this.pending.length === 0) {
      this.wakeDrainWaiters();
    }
  }

  private rawWrite(buffer: Buffer): boolean {
    const res = this.res;
    if (isGone(res)) return true;
    this.lastWriteAt = clock.now;
    let ok: boolean;
    try {
      const socket = this.socket;
      const corked = socket === undefined ? 0 : socket.writableCorked;
      ok = (res as ServerResponse).write(buffer);
      // compression() adds flush(): without it, events would sit in the gzip buffer.
      const flush = (res as { flush?: () => void }).flush;
      if (typeof flush === 'function') flush.call(res);
      // node:http corks the socket on a write and sends at the next tick. Sending now puts the cost of the send (the
      // syscall, most of a flush) inside the flusher's time slice, so a burst to thousands of connections yields
      // every few ms instead of sending everything in one tick after the slice.
      if (socket !== undefined && socket.writableCorked > corked) socket.uncork();
    } catch (error) {
      this.end('error', error);
      return true;
    }
    this.owner?.account(buffer.length, 0);
    return ok;
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    if (waiters) for (const wake of waiters) wake();
  }

  private readonly onDrain = (): void => {
    this.congested = false;
    if (this.ended) return;
    if (this.pending.length > 0) {
      if (!this.marked) {
        this.marked = true;
        flusher.mark(this);
      }
    } else {
      this.wakeDrainWaiters();
    }
  };

  private readonly onResponseClose = (): void => {
    this.end('client');
  };

  private readonly onResponseError = (error: unknown): void => {
    // A socket error (reset, EPIPE) means the client is gone; it must never become an uncaught exception.
    if (!this.ended) this.end('client', error);
  };
}

/**
 * True once nothing more can be written: the response ended or its connection is gone. `Http2ServerResponse` has no
 * `destroyed`, so on HTTP/2 the stream itself is asked; without that, a client that left before the stream opened
 * (during an async `clientId()`) would leave a stream that never ends.
 */
function isGone(res: SseResponse): boolean {
  if (res.writableEnded || res.destroyed === true) return true;
  const h2 = (res as Partial<Http2ServerResponse>).stream;
  return h2 !== undefined && h2 !== null && (h2.destroyed || h2.closed);
}

function socketBuffered(res: SseResponse): number {
  return res.writableLength ?? 0;
}

/**
 * Opens an SSE stream on a response: writes status 200 and the SSE headers at once (so the client's `open` fires),
 * turns Nagle and the socket idle timeout off, and starts heartbeats. Works on HTTP/1.1 and HTTP/2.
 * @throws SseError/SseTypeError for invalid options, a malformed `clientId` (`SSE_INVALID_CLIENT_ID`, statusCode 400)
 *   or a response whose headers were already sent.
 */
export function createStream(
  req: SseRequest,
  res: SseResponse,
  options: StreamOptions | ResolvedStreamOptions = {},
  clientId?: string,
): SseStream {
  const resolved = isResolved(options) ? options : resolveStreamOptions(options);
  // Checked here too, not only by adapters: an id that `hub.send()` would refuse could never be reached.
  if (clientId !== undefined) assertClientId(clientId);
  if (res.headersSent) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      'Cannot open an SSE stream: the response headers were already sent. Open the stream before writing anything else.',
    );
  }
  return new SseStream(req, res, resolved, clientId);
}
