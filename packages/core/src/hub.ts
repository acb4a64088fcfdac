import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Broker, ControlMessage, Envelope, OutgoingEnvelope, Target } from './broker.js';
import { SseError } from './errors.js';
import { type Flushable, flusher, Lane } from './flusher.js';
import {
  checkEvent,
  checkId,
  checkRetry,
  checkSendOptions,
  type EventData,
  formatData,
  type RetryDelay,
  type SendOptions,
  serializeData,
} from './frame.js';
import { type HubOptions, type LimitResponse, type ResolvedHubOptions, resolveHubOptions } from './hub-options.js';
import { Registry } from './registry.js';
import { resume } from './resume.js';
import type { CloseReason, SseStream, StreamOwner } from './stream.js';
import { assertClientId, assertTopic, normalizeTopics } from './validate.js';

/** Counters a hub keeps; `hub.stats()` returns a snapshot. */
export interface HubStats {
  /** Open connections. */
  connections: number;
  /** Distinct client ids with at least one open connection. */
  clients: number;
  /** Topics with at least one subscriber. */
  topics: number;
  /** Events the broker accepted from `send`, `publish` and `broadcast`. */
  published: number;
  /**
   * Events the broker refused (e.g. Redis unreachable). Each one rejected its `send`/`publish`/`broadcast` promise,
   * and is logged (at most one line per 5 s) even when nobody awaited that promise, which never crashes the process.
   */
  failed: number;
  /** Events delivered to local connections (one per connection). */
  delivered: number;
  /** Bytes handed to sockets, heartbeats and replays included. */
  bytesSent: number;
  /** Events replayed to resuming connections. */
  replayed: number;
  /** Resumes that hit a gap and got the reset event. */
  resets: number;
  /** Disconnect requests this hub handed to the broker for the other instances (control messages, not events). */
  disconnectsSent: number;
  /** Disconnect requests from other instances that reached this hub (the connections they ended: `closed.server`). */
  disconnectsReceived: number;
  /** Events that were queued for a connection when it ended and were not written (replayable from history). */
  dropped: number;
  /** Connections refused by `maxConnections` or `maxConnectionsPerClient`. */
  refused: number;
  /** Connections ended, by reason. */
  closed: Record<CloseReason, number>;
}

/** Events a hub emits. */
export interface HubEvents {
  connect: [stream: SseStream];
  disconnect: [stream: SseStream, reason: CloseReason];
}

/** Why `hub.admit()` would refuse a connection. */
export type Refusal = 'closed' | 'max-connections' | 'max-connections-per-client';

/**
 * The registry of live connections, by client id and topic, and the way events reach them. Create it with
 * {@link createHub}. Every method validates its input and throws a typed error at the point of the mistake.
 */
export class Hub extends EventEmitter<HubEvents> implements StreamOwner {
  readonly broker: Broker;
  readonly limitResponse: LimitResponse;
  private readonly opts: ResolvedHubOptions;
  private readonly registry = new Registry();
  private readonly frames = new WeakMap<Envelope, Buffer>();
  // Broadcasts not yet taken by every stream (see Lane), and the lane end the streams were last marked for (-1:
  // no flush of the lane scheduled).
  private readonly lane = new Lane();
  private laneMark = -1;
  private readonly laneTrimmer: Flushable = { flushPending: () => this.trimLane() };
  private lastFailureLog = Number.NEGATIVE_INFINITY;
  private failuresSinceLog = 0;
  private readonly counters: Omit<HubStats, 'connections' | 'clients' | 'topics'> = {
    published: 0,
    failed: 0,
    delivered: 0,
    bytesSent: 0,
    replayed: 0,
    resets: 0,
    disconnectsSent: 0,
    disconnectsReceived: 0,
    dropped: 0,
    refused: 0,
    closed: { client: 0, server: 0, timeout: 0, 'slow-consumer': 0, error: 0, shutdown: 0 },
  };
  private closing: Promise<void> | undefined;
  private readonly started: Promise<void>;
  private delivering = false;
  private readonly deliveryBacklog: (Envelope | ControlMessage)[] = [];
  // Names this hub in the control messages it sends, so that it can recognise (and skip) its own.
  private readonly origin = randomBytes(8).toString('hex');

  constructor(options: HubOptions = {}) {
    super();
    this.opts = resolveHubOptions(options);
    this.broker = this.opts.broker;
    this.limitResponse = this.opts.limitResponse;
    // Started synchronously: an event published right after createHub() must reach streams attached meanwhile.
    let started: void | Promise<void>;
    try {
      started = this.broker.start(this.deliver, this.receiveControl);
    } catch (error) {
      started = Promise.reject(error);
    }
    this.started = Promise.resolve(started).catch((error) => {
      this.opts.logger.error('[ssekit] the broker failed to start; publishing will fail until it recovers.', error);
    });
  }

  /** Open connections on this instance. */
  get size(): number {
    return this.registry.all.size;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Client ids with at least one open connection on this instance. */
  clientIds(): string[] {
    return this.registry.clientIds();
  }

  /** True when `clientId` has at least one open connection on this instance. */
  has(clientId: string): boolean {
    return this.registry.ofClient(clientId) !== undefined;
  }

  /** The open connections of a client id (several tabs share one id), or every open connection. */
  streams(clientId?: string): SseStream[] {
    if (clientId === undefined) return [...this.registry.all];
    return [...(this.registry.ofClient(clientId) ?? [])];
  }

  /** Topics with at least one subscriber on this instance. */
  topics(): string[] {
    return this.registry.topics();
  }

  /** A snapshot of the counters. */
  stats(): HubStats {
    return {
      ...this.counters,
      closed: { ...this.counters.closed },
      connections: this.registry.all.size,
      clients: this.registry.clientCount,
      topics: this.registry.topicCount,
    };
  }

  /** Resolves once the broker has started (the Redis broker connects then). */
  ready(): Promise<void> {
    return this.started;
  }

  /**
   * Sends an event to every connection of one client id, on every instance sharing the broker.
   * @returns the event id, once the broker accepted the event. Rejects only when the broker cannot accept it.
   * @throws synchronously, for a bad client id, bad data or bad options.
   */
  send<R extends number = number>(clientId: string, data: EventData, options?: SendOptions<R>): Promise<string> {
    assertClientId(clientId);
    return this.emitEnvelope({ type: 'client', clientId }, data, options);
  }

  /** Publishes an event to every connection subscribed to `topic`. Same contract as {@link Hub.send}. */
  publish<R extends number = number>(topic: string, data: EventData, options?: SendOptions<R>): Promise<string> {
    assertTopic(topic);
    return this.emitEnvelope({ type: 'topic', topic }, data, options);
  }

  /** Sends an event to every connection. Same contract as {@link Hub.send}. */
  broadcast<R extends number = number>(data: EventData, options?: SendOptions<R>): Promise<string> {
    return this.emitEnvelope(ALL, data, options);
  }

  /**
   * Ends every connection of a client id (reason `server`), on every instance sharing the broker. Browsers reconnect
   * after their retry delay; to keep a client out, refuse it in the route (e.g. answer 204 before the SSE handler)
   * as well.
   *
   * The connections on this instance end at once. The other instances are told through the broker (with
   * `@ssekit/redis`, an entry in the stream) and end theirs when they read it, in order with the events around it:
   * an event sent before the disconnect still reaches their connections first. (Here, with a broker that delivers
   * asynchronously like Redis, an event sent just before may not be back yet: it stays in history for the resume.)
   * When the broker cannot take the request (Redis down), the failure is logged; use
   * {@link Hub.disconnectEverywhere} to await it instead.
   * @param options.retry a last `retry` hint, so that the client waits that long before it reconnects.
   * @returns how many connections were ended on this instance (the other instances' connections are not counted).
   * @throws synchronously, for a bad client id or retry.
   */
  disconnect<R extends number = number>(clientId: string, options: { retry?: RetryDelay<R> } = {}): number {
    const ended = this.endClient(clientId, options);
    // A closed hub has no connections and no broker to tell; there is nothing to report either.
    if (this.closing === undefined) {
      this.tellOthers(clientId, options.retry).catch((error) => {
        this.opts.logger.error(
          `[ssekit] disconnect(${JSON.stringify(clientId)}) ended ${ended} connection(s) here but could not reach the other instances; use disconnectEverywhere() to handle this.`,
          error,
        );
      });
    }
    return ended;
  }

  /**
   * {@link Hub.disconnect}, for callers that must know the other instances were told (e.g. when a session is
   * revoked): the connections on this instance end at once, and the promise settles with the broker's answer.
   * With `@ssekit/redis` it resolves once Redis stored the request; each instance then ends the client's connections
   * as soon as its reader reaches it. With a broker that has no `control()` (one instance only), it resolves at once.
   * @returns how many connections were ended on this instance.
   * @throws synchronously, for a bad client id or retry, or SseError `SSE_HUB_CLOSED` once the hub is closed.
   *   Rejects with the broker's error (SseError `SSE_BROKER_UNAVAILABLE` when Redis is down); this instance's
   *   connections are ended all the same.
   */
  disconnectEverywhere<R extends number = number>(
    clientId: string,
    options: { retry?: RetryDelay<R> } = {},
  ): Promise<number> {
    if (this.closing !== undefined) {
      throw new SseError('SSE_HUB_CLOSED', 'This hub is closed: it no longer sends requests. Create a new hub.');
    }
    const ended = this.endClient(clientId, options);
    return this.tellOthers(clientId, options.retry).then(() => ended);
  }

  /** Validates, then ends this instance's connections of `clientId`; returns how many. */
  private endClient(clientId: string, options: { retry?: number }): number {
    assertClientId(clientId);
    if (options.retry !== undefined) checkRetry(options.retry);
    const streams = this.registry.ofClient(clientId);
    if (streams === undefined) return 0;
    const list = [...streams];
    for (const stream of list) stream.end('server', undefined, options.retry);
    return list.length;
  }

  /** Hands a disconnect to the broker, for the other instances. Never throws: a failure is the promise's. */
  private tellOthers(clientId: string, retry: number | undefined): Promise<void> {
    if (this.broker.control === undefined) return Promise.resolve();
    const message: ControlMessage = { action: 'disconnect', clientId, retry, origin: this.origin };
    this.counters.disconnectsSent++;
    try {
      return Promise.resolve(this.broker.control(message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Whether a new connection for `clientId` would be accepted now.
   * @returns `undefined` when it would, or why not.
   */
  admit(clientId?: string): Refusal | undefined {
    if (this.closing !== undefined) return 'closed';
    if (this.registry.all.size >= this.opts.maxConnections) return 'max-connections';
    if (clientId !== undefined && (this.registry.ofClient(clientId)?.size ?? 0) >= this.opts.maxConnectionsPerClient) {
      return 'max-connections-per-client';
    }
    return undefined;
  }

  /** @internal Counts a refused connection (adapters call it when `admit()` said no). */
  countRefusal(): void {
    this.counters.refused++;
  }

  /**
   * Registers an open stream: it starts receiving `send` (by its client id), `publish` (by `topics`) and
   * `broadcast`. When the stream carries a `Last-Event-ID`, the events it missed are replayed first, with no gap and
   * no duplicate against live events (live ones are held during the replay and de-duplicated by id).
   * Resolves once the replay is written. A stream ended meanwhile is simply not resumed.
   */
  async attach(stream: SseStream, topics: Iterable<string> = []): Promise<void> {
    if (stream.owner !== undefined) {
      throw new SseError('SSE_ALREADY_ATTACHED', 'This stream is already registered with a hub.');
    }
    // A string is iterable too: spreading 'news' would subscribe to 'n', 'e', 'w' and 's'.
    const list = normalizeTopics(isIterableObject(topics) ? [...topics] : topics);
    if (stream.closed) return;
    if (this.closing !== undefined) {
      stream.end('shutdown');
      return;
    }
    const resuming = stream.lastEventId !== undefined || stream.lastEventIdInvalid;
    // Hold live events from the moment the stream is reachable: a `connect` listener that sends to this client
    // would otherwise get ahead of the replay, and be sent twice (live, then again from history).
    if (resuming) stream.hold();
    stream.owner = this;
    stream.laneCursor = this.lane.end;
    this.registry.add(stream, list);
    this.safeEmit('connect', stream);
    if (resuming) await resume(stream, this.opts, this.counters, this.frameOf);
  }

  /** @internal Subscribes a registered stream to a topic. */
  subscribe(stream: SseStream, topic: string): void {
    assertTopic(topic);
    if (stream.closed || stream.topics.has(topic)) return;
    this.registry.subscribe(stream, topic);
  }

  /** @internal Unsubscribes a registered stream from a topic. */
  unsubscribe(stream: SseStream, topic: string): void {
    assertTopic(topic);
    this.registry.unsubscribe(stream, topic);
  }

  /** @internal Called by a stream when it ends. */
  detach(stream: SseStream, reason: CloseReason): void {
    if (!this.registry.remove(stream)) return;
    this.counters.closed[reason]++;
    this.safeEmit('disconnect', stream, reason);
  }

  /** @internal Called by streams as they write. */
  account(bytes: number, dropped: number): void {
    this.counters.bytesSent += bytes;
    this.counters.dropped += dropped;
  }

  /**
   * Closes gracefully: every connection gets a last `retry` hint and ends with reason `shutdown`, then the broker
   * closes. `jitter` spreads the hints over `retry … retry + jitter` ms so that clients of a restarting instance
   * do not all come back at once. Idempotent.
   */
  close<R extends number = number, J extends number = number>(
    options: { retry?: RetryDelay<R>; jitter?: RetryDelay<J> } = {},
  ): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (options.retry !== undefined) checkRetry(options.retry);
    if (options.jitter !== undefined) checkRetry(options.jitter);
    const base = options.retry;
    const jitter = options.jitter ?? 0;
    for (const stream of [...this.registry.all]) {
      const hint =
        base === undefined && jitter === 0 ? undefined : (base ?? 1000) + Math.floor(Math.random() * (jitter + 1));
      stream.end('shutdown', undefined, hint);
    }
    this.closing = Promise.resolve(this.broker.close()).catch((error) => {
      this.opts.logger.error('[ssekit] the broker failed to close cleanly.', error);
    });
    return this.closing;
  }

  private emitEnvelope(target: Target, data: unknown, options: SendOptions | undefined): Promise<string> {
    if (this.closing !== undefined) {
      throw new SseError('SSE_HUB_CLOSED', 'This hub is closed: it no longer accepts events. Create a new hub.');
    }
    const text = serializeData(data, this.opts.serializer);
    let envelope: OutgoingEnvelope = { target, data: text };
    if (options !== undefined) {
      checkSendOptions(options);
      const { event, id, retry } = options;
      if (event !== undefined) checkEvent(event);
      if (retry !== undefined) checkRetry(retry);
      envelope = { target, data: text, event, retry, id: id === undefined ? undefined : checkId(id) };
    }
    let result: string | Promise<string>;
    try {
      result = this.broker.publish(envelope);
    } catch (error) {
      result = Promise.reject(error);
    }
    if (typeof result === 'string') {
      this.counters.published++;
      return Promise.resolve(result);
    }
    const accepted = Promise.resolve(result).then((id) => {
      this.counters.published++;
      return id;
    });
    // The caller who awaits still gets the rejection; one who does not (a fire-and-forget broadcast while Redis is
    // down) must not crash the process with an unhandled rejection: the failure is counted and logged instead.
    accepted.catch((error: unknown) => this.publishFailed(error));
    return accepted;
  }

  private publishFailed(error: unknown): void {
    this.counters.failed++;
    this.failuresSinceLog++;
    const now = Date.now();
    // One line per outage window, not one per event: a busy app publishes thousands of events while Redis restarts.
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL) return;
    this.opts.logger.error(
      `[ssekit] ${this.failuresSinceLog} event(s) could not be published (the broker refused them); their send/publish/broadcast promises rejected.`,
      error,
    );
    this.lastFailureLog = now;
    this.failuresSinceLog = 0;
  }

  /**
   * Delivers one envelope to the matching local connections: framed once, the same bytes for every one.
   * Re-entrant calls (a `disconnect` or `close` listener that publishes while a delivery cuts a slow consumer) wait
   * until the current delivery is done: delivered at once, the newer event would reach the remaining connections
   * before the older one, and their cursors would skip it.
   */
  private readonly deliver = (envelope: Envelope): void => {
    if (this.delivering) {
      this.deliveryBacklog.push(envelope);
      return;
    }
    this.delivering = true;
    try {
      this.deliverNow(envelope);
      this.drainBacklog();
    } finally {
      this.deliveryBacklog.length = 0;
      this.delivering = false;
    }
  };

  /**
   * Acts on a control message from the broker. Its own (sent by `disconnect` here, which already ended the local
   * connections) is skipped. It waits behind a delivery in progress like an event does, so that an event delivered
   * before it still reaches the connections it ends.
   */
  private readonly receiveControl = (message: ControlMessage): void => {
    if (message === null || typeof message !== 'object' || message.origin === this.origin) return;
    if (this.delivering) {
      this.deliveryBacklog.push(message);
      return;
    }
    this.delivering = true;
    try {
      this.applyControl(message);
      this.drainBacklog();
    } finally {
      this.deliveryBacklog.length = 0;
      this.delivering = false;
    }
  };

  private drainBacklog(): void {
    const backlog = this.deliveryBacklog;
    for (let i = 0; i < backlog.length; i++) {
      const item = backlog[i] as Envelope | ControlMessage;
      if ('action' in item) this.applyControl(item);
      else this.deliverNow(item);
    }
  }

  private applyControl(message: ControlMessage): void {
    // Checked here too: a custom broker may hand over anything, and `retry` ends up in the bytes sent to clients.
    if (message.action !== 'disconnect' || typeof message.clientId !== 'string') return;
    this.counters.disconnectsReceived++;
    const streams = this.registry.ofClient(message.clientId);
    if (streams === undefined) return;
    const retry = message.retry;
    const hint = typeof retry === 'number' && Number.isSafeInteger(retry) && retry >= 0 ? retry : undefined;
    for (const stream of [...streams]) stream.end('server', undefined, hint);
  }

  private deliverNow(envelope: Envelope): void {
    const target = envelope.target;
    const streams = this.registry.lookup(target);
    if (streams === undefined || streams.size === 0) return;
    const frame = this.frameOf(envelope);
    const seq = flusher.next();
    const id = envelope.id;
    this.counters.delivered += streams.size;
    if (target.type === 'all') {
      // Kept once; every stream takes it when it is flushed, in time slices. Publishing then costs the same for ten
      // or ten thousand connections, and the fan-out never holds the event loop for longer than a slice.
      this.lane.append(frame, seq, id);
      if (this.laneMark === -1) this.markLane();
      return;
    }
    for (const stream of streams) stream.enqueue(frame, seq, id);
  }

  /** Queues every stream for the next flush, and after them the trimmer that drops what they all took. */
  private markLane(): void {
    this.laneMark = this.lane.end;
    for (const stream of this.registry.all) stream.markForFlush();
    flusher.mark(this.laneTrimmer);
  }

  /**
   * Runs after every stream queued by `markLane`, so each stream of the hub has taken the lane up to the mark
   * (streams attached since then start past it). Broadcasts published during the flush get another round.
   */
  private trimLane(): void {
    this.lane.trim(this.laneMark);
    if (this.lane.end > this.laneMark) this.markLane();
    else this.laneMark = -1;
  }

  /** @internal Hands a stream the broadcasts it has not taken yet, in publish order. */
  catchUp(stream: SseStream): void {
    const lane = this.lane;
    const end = lane.end;
    const from = stream.laneCursor;
    if (from >= end) return;
    // Moved first: taking a frame can end the stream, and what its listeners publish must not be taken twice.
    stream.laneCursor = end;
    for (let i = Math.max(from, lane.start); i < end; i++) stream.accept(lane.frame(i), lane.seq(i), lane.id(i));
  }

  private readonly frameOf = (envelope: Envelope): Buffer => {
    let frame = this.frames.get(envelope);
    if (frame === undefined) {
      frame = Buffer.from(formatData(envelope.data, envelope.event, envelope.id, envelope.retry));
      this.frames.set(envelope, frame);
    }
    return frame;
  };

  private safeEmit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: HubEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.opts.logger.error(`[ssekit] a hub "${event}" listener threw; the error was caught.`, error);
    }
  }
}

/** Shortest time between two log lines about events the broker refused, in ms. */
const FAILURE_LOG_INTERVAL = 5000;

const ALL: Target = Object.freeze({ type: 'all' });

function isIterableObject(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

/**
 * Creates a hub: the registry of live connections (by client id and topic) and the way events reach them, with
 * history for `Last-Event-ID` resume. Pass `broker: createRedisBroker(…)` to share it across instances.
 * @throws SseError/SseTypeError for an invalid option (checked here, once).
 */
export function createHub(options?: HubOptions): Hub {
  return new Hub(options);
}
