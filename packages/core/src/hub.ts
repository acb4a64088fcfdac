import { EventEmitter } from 'node:events';
import type { Broker, Target } from './broker-contract.js';
import { Control } from './control.js';
import { Delivery } from './delivery.js';
import { SseError } from './errors.js';
import { FailureLog } from './failure-log.js';
import { checkRetry, type EventData, type RetryDelay, type SendOptions } from './frame.js';
import {
  type HubOptions,
  type ResolvedHubOptions,
  type ResolvedLimitResponse,
  resolveHubOptions,
} from './hub-options.js';
import { type StreamOwner, streamOwner } from './hub-owner.js';
import { type PublishContext, publishEnvelope } from './hub-publish.js';
import { registerRefusalCounters } from './hub-refusals.js';
import { endForShutdown } from './hub-shutdown.js';
import { createCounters, type HubCounters, type HubStats, snapshot } from './hub-stats.js';
import { type Refusal, refusalFor } from './limits.js';
import { createMemoryStreamLog } from './memory-stream-log.js';
import { HubMetrics, nameHub } from './metrics.js';
import { Registry } from './registry.js';
import { Resumables, setResumables } from './resumable.js';
import { resume } from './resume.js';
import type { CloseReason, SseStream } from './stream.js';
import { assertClientId, assertTopic, normalizeTopics } from './validate.js';
import { writerOf } from './writer.js';

/** Events a hub emits. */
export interface HubEvents {
  connect: [stream: SseStream];
  disconnect: [stream: SseStream, reason: CloseReason];
}

/**
 * The registry of live connections, by client id and topic, and the way events reach them. Create it with
 * {@link createHub}. Every method validates its input and throws a typed error at the point of the mistake.
 */
export class Hub extends EventEmitter<HubEvents> {
  /** The transport this hub publishes through (the in-memory broker unless one was given). */
  readonly broker: Broker;
  /** How a connection over a limit is answered, with its defaults applied. */
  readonly limitResponse: ResolvedLimitResponse;
  /** The hub's name: the `name` option, or `hub-<n>`; attribute `ssekit.hub` of its metrics. */
  readonly name: string;
  private readonly opts: ResolvedHubOptions;
  private readonly registry: Registry;
  private readonly counters: HubCounters = createCounters();
  private readonly control: Control;
  private readonly delivery: Delivery;
  private readonly failures: FailureLog;
  private readonly metrics: HubMetrics | undefined;
  private readonly resumables: Resumables;
  private readonly publishing: PublishContext;
  private closing: Promise<void> | undefined;
  private readonly started: Promise<void>;
  // What the streams this hub registers call back (through their writer): no public member of the hub.
  private readonly owner: StreamOwner;

  /** Prefer {@link createHub}, the same. */
  constructor(options: HubOptions = {}) {
    super();
    this.opts = resolveHubOptions(options);
    this.broker = this.opts.broker;
    const broker = this.broker;
    this.registry = new Registry(
      broker.interest === undefined
        ? undefined
        : (change, target) => {
            try {
              broker.interest?.(change, target);
            } catch (error) {
              this.opts.logger.error('[ssekit] the broker failed to take an interest change.', error);
            }
          },
    );
    this.owner = streamOwner(this.registry, this.counters, (stream, reason) => this.detach(stream, reason));
    this.limitResponse = this.opts.limitResponse;
    this.name = nameHub(this.opts.name, this.opts.metrics);
    this.metrics = this.opts.metrics
      ? new HubMetrics(this.name, this.opts.meterProvider, this.counters, this.registry)
      : undefined;
    this.failures = new FailureLog(this.opts.logger);
    this.publishing = {
      opts: this.opts,
      broker,
      counters: this.counters,
      failures: this.failures,
      metrics: this.metrics,
    };
    this.control = new Control(this.broker, this.registry, this.counters);
    this.delivery = new Delivery(this.registry, this.counters, this.control);
    registerRefusalCounters(this, this.counters);
    const streams = this.broker.streams;
    this.resumables = new Resumables(streams ?? createMemoryStreamLog(), streams === undefined, this.registry);
    setResumables(this, this.resumables);
    // Started synchronously: an event published right after createHub() must reach streams attached meanwhile.
    let started: void | Promise<void>;
    try {
      started = this.broker.start(this.delivery.deliver, this.delivery.receiveControl);
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
    return snapshot(this.counters, this.registry);
  }

  /** Resolves once the broker has started (the Redis broker connects then). */
  ready(): Promise<void> {
    return this.started;
  }

  /**
   * Sends an event to every connection of one client id, on every instance sharing the broker.
   * Give `idempotencyKey` to retry a publish that failed without risking a duplicate (see {@link SendOptions}).
   * @returns the event id, once the broker accepted the event. Rejects only when the broker cannot accept it; such a
   *   failure is also counted in `stats().failed` and logged.
   * @throws synchronously, for a bad client id, bad data or bad options (SseTypeError `SSE_INVALID_FIELD` for an `id`
   *   when the broker assigns ids itself, as `@ssekit/redis` does); nothing is published, counted or logged then.
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
      this.control.tellOthers(clientId, options.retry).catch((error) => {
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
    return this.control.tellOthers(clientId, options.retry).then(() => ended);
  }

  /** Validates, then ends this instance's connections of `clientId`; returns how many. */
  private endClient(clientId: string, options: { retry?: number }): number {
    assertClientId(clientId);
    if (options.retry !== undefined) checkRetry(options.retry);
    return this.control.endClient(clientId, options.retry);
  }

  /**
   * Cancels a resumable stream, from any instance sharing the broker: its log ends with `ssekit-error` `cancelled`
   * (its readers get it and end) and its producer's signal aborts (reason `cancelled`), on whichever instance runs it.
   * @returns `cancelled`; `ended` when it had ended already; `unknown` for a key the store does not hold (never
   *   created, or expired).
   * @throws SseTypeError `SSE_INVALID_STREAM_KEY` for a malformed key, SseError `SSE_HUB_CLOSED` once the hub is
   *   closed. Rejects with the store's error (Redis unreachable).
   */
  cancelStream(key: string): Promise<'cancelled' | 'ended' | 'unknown'> {
    return this.resumables.cancel(key);
  }

  /**
   * Whether a new connection for `clientId` would be accepted now.
   * @returns `undefined` when it would, or why not.
   */
  admit(clientId?: string): Refusal | undefined {
    return refusalFor(this.registry, this.opts, this.closing !== undefined, clientId);
  }

  /**
   * Registers an open stream: it starts receiving `send` (by its client id), `publish` (by `topics`) and
   * `broadcast`. When the stream carries a `Last-Event-ID`, the events it missed are replayed first, with no gap and
   * no duplicate against live events (live ones are held during the replay and de-duplicated by id).
   * Resolves once the replay is written. A stream ended meanwhile is simply not resumed.
   */
  async attach(stream: SseStream, topics: Iterable<string> = []): Promise<void> {
    const writer = writerOf(stream);
    if (writer.owner !== undefined) {
      throw new SseError('SSE_ALREADY_ATTACHED', 'This stream is already registered with a hub.');
    }
    // A string is iterable too: spreading 'news' would subscribe to 'n', 'e', 'w' and 's'.
    const list = normalizeTopics(isIterableObject(topics) ? [...topics] : topics);
    if (stream.closed) return;
    if (this.closing !== undefined) {
      writer.end('shutdown');
      return;
    }
    const resuming = stream.lastEventId !== undefined || stream.lastEventIdInvalid;
    // Hold live events from the moment the stream is reachable: a `connect` listener that sends to this client
    // would otherwise get ahead of the replay, and be sent twice (live, then again from history).
    if (resuming) writer.hold();
    writer.attach(this.owner, this.delivery.lane);
    this.metrics?.bind();
    this.registry.add(stream, list);
    this.safeEmit('connect', stream);
    if (resuming) await resume(stream, this.opts, this.counters, this.delivery.frameOf);
  }

  /**
   * Closes gracefully: every connection gets a last `retry` hint and ends with reason `shutdown`, the producers of
   * resumable streams are stopped (their logs end with `ssekit-error` `lost`), then the broker closes. `jitter` spreads the hints over `retry … retry + jitter` ms so that clients of a restarting instance
   * do not all come back at once; without `retry`, each
   * connection's base is its own `retry` option (else `DEFAULT_CLOSE_RETRY`). Idempotent.
   */
  close<R extends number = number, J extends number = number>(
    options: { retry?: RetryDelay<R>; jitter?: RetryDelay<J> } = {},
  ): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    endForShutdown(this.registry.all, options);
    this.failures.flush();
    this.metrics?.close();
    // Producers stop first (their streams end with `lost`), then the broker and its stream log close.
    this.closing = this.resumables
      .close()
      .then(() => this.broker.close())
      .catch((error) => {
        this.opts.logger.error('[ssekit] the broker failed to close cleanly.', error);
      });
    return this.closing;
  }

  private emitEnvelope(target: Target, data: unknown, options: SendOptions | undefined): Promise<string> {
    if (this.closing !== undefined) {
      throw new SseError('SSE_HUB_CLOSED', 'This hub is closed: it no longer accepts events. Create a new hub.');
    }
    return publishEnvelope(this.publishing, target, data, options);
  }

  private detach(stream: SseStream, reason: CloseReason): void {
    if (!this.registry.remove(stream)) return;
    this.counters.closed[reason]++;
    this.safeEmit('disconnect', stream, reason);
  }

  private safeEmit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: HubEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.opts.logger.error(`[ssekit] a hub "${event}" listener threw; the error was caught.`, error);
    }
  }
}

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
