import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { clock } from './clock.js';
import { SseError } from './errors.js';
import { flusher } from './flusher.js';
import {
  checkRetry,
  type EventData,
  formatComment,
  formatData,
  formatEvent,
  type RetryDelay,
  readSendOptions,
  type SendOptions,
  type SseMessage,
  serializeData,
} from './frame.js';
import { writeHead } from './head.js';
import type { StreamOwner } from './hub-owner.js';
import { readLastEventId } from './last-event-id.js';
import { type PipeOptions, type PipeResult, type PipeSource, pipeInto } from './pipe.js';
import type { EventMap, Producer } from './producer.js';
import { listenTo, stopListening } from './response-listeners.js';
import { isGone } from './response-state.js';
import { startProducer } from './resumable-binding.js';
import { closeRetryOf, isGraceful, lastRetryHint } from './stream-close.js';
import type { StreamEnd } from './stream-log-contract.js';
import { isResolved, type ResolvedStreamOptions, resolveStreamOptions, type StreamOptions } from './stream-options.js';
import { assertClientId } from './validate.js';
import { Writer } from './writer.js';

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

const NO_ID = undefined;

/**
 * One SSE connection: writes the head, frames events, keeps the connection alive, honours backpressure and ends
 * exactly once with a reason. Create it with {@link createStream}, or let an adapter do it (`res.sse`, `reply.sse`).
 */
export class SseStream extends EventEmitter<StreamEvents> {
  /** The client id the app gave this connection, if any. */
  readonly clientId: string | undefined;
  /** The `Last-Event-ID` the client sent (header, or `lastEventId` query parameter), if valid. */
  readonly lastEventId: string | undefined;
  /** True when the client sent a `Last-Event-ID` that was too long or had control characters; it was ignored. */
  readonly lastEventIdInvalid: boolean;
  /** Why the stream ended; `undefined` while open. */
  closeReason: CloseReason | undefined;

  private readonly res: SseResponse;
  private readonly opts: ResolvedStreamOptions;
  // The queue and write machinery (writer.ts); the hub reaches it through `writerOf(stream)`.
  private readonly writer: Writer;
  // Created on the first subscription: most connections of an app have none, and an empty Set is about 200 bytes.
  private topicSet: Set<string> | undefined;
  private controller: AbortController | undefined;
  private ended = false;
  private readonly deadline: number;
  private endedPromise: Promise<undefined> | undefined;
  private resolveEnded: ((value: undefined) => void) | undefined;

  /**
   * Opens the stream on `res`, as {@link createStream} does (which also takes options not yet resolved).
   * @throws SseError/SseTypeError for a malformed `clientId` or a response whose headers were already sent.
   */
  constructor(req: SseRequest, res: SseResponse, options: ResolvedStreamOptions, clientId?: string) {
    super();
    // Checked here too, not only by adapters: an id that `hub.send()` would refuse could never be reached.
    if (clientId !== undefined) assertClientId(clientId);
    if (res.headersSent) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        'Cannot open an SSE stream: the response headers were already sent. Open the stream before writing anything else.',
      );
    }
    this.res = res;
    this.opts = options;
    this.clientId = clientId;
    const last = readLastEventId(req);
    this.lastEventId = last.id;
    this.lastEventIdInvalid = last.invalid;
    this.writer = new Writer(this, res, options.maxBufferedBytes, closeRetryOf(options));
    this.deadline = options.timeout === false ? Number.POSITIVE_INFINITY : this.writer.lastWriteAt + options.timeout;

    listenTo(res, this);
    if (isGone(res)) {
      this.endWith('client');
      return;
    }
    this.writer.open(writeHead(req, res, options.headers));
    if (options.retry !== undefined) this.writer.writeNow(Buffer.from(`retry: ${options.retry}\n\n`));
    const tickEvery = Math.min(
      options.heartbeat === false ? Number.POSITIVE_INFINITY : options.heartbeat,
      options.timeout === false ? Number.POSITIVE_INFINITY : options.timeout,
    );
    if (tickEvery !== Number.POSITIVE_INFINITY) clock.add(this, tickEvery);
  }

  /** The topics this stream is subscribed to (kept by the hub: subscribe through `subscribe()` or the hub). */
  get topics(): ReadonlySet<string> {
    return this.topicSet ?? NO_TOPICS;
  }

  /**
   * The mutable topic set, created on first use; for the hub's registry only.
   * @internal
   */
  topicsForHub(): Set<string> {
    this.topicSet ??= new Set();
    return this.topicSet;
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
    const { event, id, retry } = readSendOptions(options);
    this.writer.enqueue(Buffer.from(formatData(text, event, id, retry)), flusher.next(), NO_ID);
    return true;
  }

  /** Writes a full message (any of `data`, `event`, `id`, `retry`, `comment`); see `formatEvent`. */
  write<R extends number = number>(message: SseMessage & { retry?: RetryDelay<R> }): boolean {
    if (this.ended) return false;
    this.writer.enqueue(Buffer.from(formatEvent(message, this.opts.serializer)), flusher.next(), NO_ID);
    return true;
  }

  /** Sends a comment line, which clients ignore (a keep-alive, a debugging note). */
  comment(text = ''): boolean {
    if (this.ended) return false;
    this.writer.enqueue(Buffer.from(formatComment(text)), flusher.next(), NO_ID);
    return true;
  }

  /**
   * Ends the stream from the server side (reason `server`). Pending events are written first.
   * @param options.retry a last `retry` hint, so the client waits that long before it reconnects.
   */
  close<R extends number = number>(options: { retry?: RetryDelay<R> } = {}): void {
    if (options.retry !== undefined) checkRetry(options.retry);
    this.endWith('server', undefined, options.retry);
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
   * Runs the producer of the resumable stream this request started (on a route declared with the `resumable`
   * option): exactly once, whoever reads; every item it yields (`{ event, data }`, typed by `Events`) is appended to
   * the stream's log with the next id, serialized like `send()`, and read by this connection and by every reconnect
   * with the stream's key. The producer is not slowed by slow readers: the log is the buffer. Its `AbortSignal`
   * aborts (`signal.reason`: `cancelled`, `abandoned`, `too-large`, `lost`) when the stream is cancelled from any
   * instance, nobody read it for the route's `grace`, it reached a bound, or the hub closes. The log then ends with
   * `ssekit-done`, or `ssekit-error` and its reason (`producer-error` when it throws: logged, its message kept out
   * of the event unless the route sets `exposeErrors`). Write to a resumable stream only through its producer: what
   * `send()` writes is not in the log, so a reconnect would not get it.
   * @returns how the stream ended, once its terminal entry is in the log; never rejects.
   * @throws SseError `SSE_NOT_RESUMABLE` on a stream that did not start a resumable stream, or on a second call;
   *   SseTypeError `SSE_INVALID_SOURCE` for a producer that is not a function.
   */
  resumable<Events extends EventMap = EventMap>(producer: Producer<Events>): Promise<StreamEnd> {
    return startProducer(this, producer as unknown as Producer);
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
    return this.writer.drained();
  }

  /** The `maxBufferedBytes` limit of this stream. */
  get maxBufferedBytes(): number {
    return this.opts.maxBufferedBytes;
  }

  /** Bytes accepted but not yet taken by the network, for this stream. */
  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  private requireOwner(what: string): StreamOwner {
    const owner = this.writer.owner;
    if (owner === undefined) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `Cannot ${what}: this stream is not registered with a hub. Use an adapter, or \`hub.attach(stream)\` first.`,
      );
    }
    return owner;
  }

  /**
   * Ends the stream exactly once, with a reason. Apps call `close()`; the hub, resume, pipe and adapters come here
   * through the writer (`writerOf(stream).end`).
   * @internal
   */
  endWith(reason: CloseReason, error?: unknown, retryHint?: number): void {
    if (this.ended) return;
    // Broadcasts published before the end are pending events too; taking them may end the stream first.
    this.writer.takeLastBroadcasts();
    if (this.ended) return;
    this.markEnded(reason);
    this.writer.close(reason, isGraceful(reason), lastRetryHint(reason, retryHint, this.writer.closeRetry));
    this.writer.owner?.detach(this, reason);
    this.controller?.abort(reason);
    this.writer.wakeDrainWaiters();
    this.resolveEnded?.(undefined);
    this.emitClose(reason, error);
  }

  /** Records the reason and lets go of the clock and the response's events. */
  private markEnded(reason: CloseReason): void {
    this.ended = true;
    this.closeReason = reason;
    clock.delete(this);
    stopListening(this.res);
  }

  private emitClose(reason: CloseReason, error: unknown): void {
    try {
      this.emit('close', reason, error);
    } catch (listenerError) {
      this.opts.logger.error(
        '[ssekit] a "close" listener threw; the error was caught so the stream could end.',
        listenerError,
      );
    }
  }

  /**
   * Called by the clock: end when the lifetime is over, heartbeat when idle. (The stream is the clock's member
   * itself: a wrapper object and closure per connection cost about 100 bytes each.)
   * @internal
   */
  tick(now: number): void {
    if (this.ended) return;
    try {
      if (now >= this.deadline) {
        this.endWith('timeout');
        return;
      }
      const heartbeat = this.opts.heartbeat;
      if (heartbeat !== false && now - this.writer.lastWriteAt >= heartbeat) this.writer.heartbeat();
    } catch (error) {
      this.opts.logger.error('[ssekit] heartbeat failed', error);
    }
  }
}

const NO_TOPICS: ReadonlySet<string> = new Set();

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
  return new SseStream(req, res, isResolved(options) ? options : resolveStreamOptions(options), clientId);
}
