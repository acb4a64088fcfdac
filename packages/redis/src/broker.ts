import { SseError, SseTypeError } from '@ssekit/core';
import type {
  Broker,
  ClientOrTopic,
  ControlMessage,
  Envelope,
  InterestChange,
  OutgoingEnvelope,
  ReplayFilter,
  ReplayResult,
} from '@ssekit/core/broker';
import { checkClusterPartitions, checkControl, checkInterest, checkPublish } from './broker-checks.js';
import { clientFactory, readerFactory } from './clients.js';
import { encodeControl, encodeEnvelope } from './codec.js';
import { Connection, type ConnectionHooks } from './connection.js';
import { checkConnection } from './connection-checks.js';
import { connectionHooks } from './connection-hooks.js';
import { closedError, unavailable } from './errors.js';
import {
  type RedisBrokerOptions,
  type RedisConnection,
  type ResolvedRedisBrokerOptions,
  resolveOptions,
} from './options.js';
import { type PartitionKeys, partitionKeys } from './partition.js';
import { PartitionedLog } from './partitioned-log.js';
import { StreamReader } from './reader.js';
import { replayFrom } from './replay.js';
import { runPublish } from './script.js';
import { RedisStreamLog } from './stream-log.js';
import { xrange } from './xrange.js';

/**
 * A broker on a Redis Stream: every instance of an app appends its events to one stream and reads the stream back,
 * so `send`, `publish` and `broadcast` reach the connections of every instance, and any instance can resume a client
 * from its `Last-Event-ID`. Create it with {@link createRedisBroker} and pass it to `createHub({ broker })`.
 *
 * - Ids are Redis stream ids (`<ms>-<seq>`): ordered across instances, so a cursor from one instance is valid on
 *   every other.
 * - Each instance holds two connections: one for publishing and replays, one that blocks on `XREAD` and delivers
 *   every entry, in stream order, exactly once. After any disconnection the reader continues from the last entry it
 *   delivered, so an instance catches up by itself: there is no pub/sub loss window and no resubscription.
 * - Every entry names the entry before it, so a reader (and a replay) can prove it missed nothing; when it did
 *   (history trimmed while it was cut off, Redis restarted without persistence), clients are told with the reset
 *   event instead of silently missing events.
 * - Every entry carries the epoch of the log; emptying or recreating the stream (DEL, FLUSHALL, a restart without
 *   data) starts a new epoch, which wakes every reader at once and gives its connections the reset event, even
 *   when the new log's ids repeat the old ones.
 * - Control messages (`hub.disconnect()`) are entries of the same stream, so every instance acts on them in order
 *   with the events around them; they carry no data, and are never delivered or replayed as events.
 */
export class RedisBroker implements Broker {
  /** The Redis stream key. */
  readonly key: string;
  /**
   * Always true: every event id is the Redis stream id the publish script gets, because it is the cursor every
   * instance resumes from. A caller-given id is refused (`SSE_INVALID_FIELD`), and the hub refuses it before
   * publishing.
   */
  readonly assignsIds = true;
  /**
   * Resumable streams on this Redis, shared by every instance with the same broker `key`: see
   * {@link RedisStreamLog}. Closed with the broker.
   */
  readonly streams: RedisStreamLog;
  private readonly options: ResolvedRedisBrokerOptions;
  private readonly epochKey: string;
  private readonly publisher: Connection;
  private readonly readerConnection: Connection;
  private readonly reader: StreamReader;
  // With `partitions`: the log that replaces the single stream and its reader.
  private readonly partitioned: PartitionedLog | undefined;
  private deliver: ((envelope: Envelope) => void) | undefined;
  private onControl: ((message: ControlMessage) => void) | undefined;
  private startup: Promise<void> | undefined;
  private settleStartup: ((error?: unknown) => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  private closing: Promise<void> | undefined;

  /** Prefer {@link createRedisBroker}. Validates both arguments and throws a typed error on a bad one. */
  constructor(connection: RedisConnection, options?: RedisBrokerOptions) {
    const resolvedConnection = checkConnection(connection);
    this.options = resolveOptions(options);
    checkClusterPartitions(resolvedConnection, this.options);
    this.key = this.options.key;
    this.epochKey = `${this.key}:epoch`;
    this.publisher = new Connection(
      clientFactory(resolvedConnection, 'publish'),
      'publish',
      this.options.commandTimeout,
      0,
      this.hooks('publish'),
    );
    this.readerConnection = new Connection(
      clientFactory(resolvedConnection, 'reader'),
      'reader',
      this.options.commandTimeout,
      this.options.blockTimeout,
      this.hooks('reader'),
    );
    this.reader = new StreamReader(
      this.readerConnection,
      this.options,
      this.epochKey,
      {
        deliver: (envelope) => this.deliver?.(envelope),
        control: (message) => this.onControl?.(message),
        started: (error) => this.settleStartup?.(error),
      },
      this.abort.signal,
    );
    this.streams = new RedisStreamLog(resolvedConnection, this.publisher, this.options);
    this.partitioned =
      this.options.partitions === 0
        ? undefined
        : new PartitionedLog(
            this.options,
            {
              publisher: this.publisher,
              readerClient: (key) => readerFactory(resolvedConnection, key),
              hooks: (role) => this.hooks(role),
              deliver: (envelope) => this.deliver?.(envelope),
              control: (message) => this.onControl?.(message),
            },
            this.abort.signal,
          );
  }

  /** With `partitions`: the partitions this instance reads now (the broadcast one is `partitions`). */
  readingPartitions(): number[] {
    return this.partitioned?.readPartitions() ?? [];
  }

  /**
   * With `partitions`, reads the partition of a client id or topic while a local connection needs it (the hub calls
   * this); without, does nothing: every instance reads the whole stream.
   * @throws SseTypeError `SSE_INVALID_FIELD` for a change other than `add`/`remove`, or a malformed target.
   */
  interest(change: InterestChange, target: ClientOrTopic): void {
    checkInterest(change, target);
    this.partitioned?.interest(change, target);
  }

  /** True while both connections to Redis are up and the reader knows where it is in the stream. */
  get connected(): boolean {
    if (this.partitioned !== undefined) return this.publisher.isReady && this.partitioned.connected;
    return this.publisher.isReady && this.readerConnection.isReady && this.reader.cursor !== undefined;
  }

  /**
   * Called once by the hub. Connects and starts the reader. Resolves once the reader knows where the stream ends
   * (events published from then on reach this hub); rejects when the first attempt fails, while retrying goes on in
   * the background.
   */
  start(deliver: (envelope: Envelope) => void, onControl?: (message: ControlMessage) => void): Promise<void> {
    if (typeof deliver !== 'function' || (onControl !== undefined && typeof onControl !== 'function')) {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        'RedisBroker.start() takes the function that delivers envelopes, and optionally the one that takes control messages.',
      );
    }
    if (this.closed) throw closedError();
    if (this.deliver !== undefined) {
      throw new SseError(
        'SSE_ALREADY_ATTACHED',
        'This Redis broker is already started by a hub. Create one broker per hub (they can share the stream key).',
      );
    }
    this.deliver = deliver;
    this.onControl = onControl;
    this.startup = new Promise<void>((resolve, reject) => {
      this.settleStartup = (error) => {
        this.settleStartup = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    // The hub handles the outcome; a broker used on its own must not produce an unhandled rejection either.
    this.startup.catch(noop);
    this.publisher.start().catch(noop);
    if (this.partitioned !== undefined) {
      this.partitioned.start((error) =>
        this.settleStartup?.(error === undefined ? undefined : unavailable(error, 'offline')),
      );
      return this.startup;
    }
    this.readerConnection.start().catch((error) => this.settleStartup?.(unavailable(error, 'offline')));
    this.loop = this.reader.run().catch((error) => {
      this.options.logger.error(
        '[ssekit] the Redis reader stopped unexpectedly; events no longer reach this hub.',
        error,
      );
    });
    return this.startup;
  }

  /**
   * Appends the event to the stream (one atomic script: `XADD … MAXLEN ~`), and resolves with its stream id once
   * Redis has stored it. Every instance's reader then delivers it.
   *
   * With `idempotencyKey`, a publish that repeats the key of one stored within `idempotencyWindow` ms appends
   * nothing and resolves with the first one's id: retry a publish that failed with "may or may not have been stored"
   * with the same key, and the event is stored once.
   * @throws (rejects) SseError `SSE_BROKER_UNAVAILABLE` when Redis is down or does not confirm in time (no offline
   *   queue: the caller knows at once); SseTypeError `SSE_INVALID_FIELD` for a caller-given `id` (the stream id is
   *   the event id, because it is the cursor every instance can resume from) or a malformed `idempotencyKey`.
   */
  async publish(envelope: OutgoingEnvelope): Promise<string> {
    if (this.closed) throw closedError();
    checkPublish(envelope);
    const idempotencyKey = envelope.idempotencyKey;
    const keys = this.keysOf(envelope.target);
    const redisKey = idempotencyKey === undefined ? undefined : `${keys.idempotency}${idempotencyKey}`;
    const id = await this.append(encodeEnvelope(envelope), redisKey, keys);
    // With partitions, the id clients see is a cursor over the partitions their instance reads; the publisher knows
    // the event's place in its own partition only, and names it so.
    return this.partitioned === undefined ? id : this.partitioned.idOf(envelope.target, id);
  }

  /**
   * Appends a control message to the stream, in order with events, and resolves once Redis has stored it. Every
   * instance's reader (this one's included) hands it to its hub. Its entry takes a place in the stream and in the
   * chain like an event (it counts towards `maxLength`), but it is never delivered or replayed as an event.
   * @throws (rejects) SseError `SSE_BROKER_UNAVAILABLE` when Redis is down or does not confirm in time;
   *   SseTypeError/SseRangeError for a malformed message.
   */
  async control(message: ControlMessage): Promise<void> {
    if (this.closed) throw closedError();
    checkControl(message);
    await this.append(encodeControl(message), undefined, this.keysOf({ type: 'client', clientId: message.clientId }));
  }

  /**
   * The events after `lastEventId` that match `filter`, oldest first, read in pages of `batchSize` with `XRANGE`.
   * The hub closes a connection answered `unavailable`, and the client retries with the same cursor.
   * @throws SseError `SSE_BROKER_UNAVAILABLE` when Redis cannot be read.
   */
  async replay(lastEventId: string, filter: ReplayFilter): Promise<ReplayResult> {
    // Read before any await: the hub started holding live events for this stream just now, so everything the reader
    // delivers from here on is newer than `delivered`.
    if (this.partitioned !== undefined) {
      if (this.closed) throw closedError();
      return this.partitioned.replay(lastEventId, filter);
    }
    const delivered = this.reader.cursor;
    if (this.closed) throw closedError();
    if (delivered === undefined) throw unavailable(new Error('this instance has not reached Redis yet'), 'offline');
    const source = {
      range: (start: string, count: number) => xrange(this.publisher, this.key, start, '+', count),
      isAmbiguous: (id: string) => this.reader.isAmbiguous(id),
      delivered: (id: string) => this.reader.delivered(id),
    };
    return replayFrom(source, delivered, lastEventId, filter, this.options.batchSize);
  }

  /** Stops the reader at once (its blocking read is cut), lets pending publishes finish briefly, disconnects. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.deliver = undefined;
    this.onControl = undefined;
    this.abort.abort();
    this.reader.stop();
    // Nothing will be delivered any more; a hub still waiting for the start has nothing left to wait for.
    this.settleStartup?.();
    const streams = this.streams.close();
    this.closing = (async () => {
      await Promise.all([this.readerConnection.close(), this.partitioned?.close()]);
      await this.loop;
      await streams;
      await this.publisher.close(this.options.commandTimeout);
    })();
    return this.closing;
  }

  /** The stream, epoch stream and idempotency prefix that an event for `target` goes to. */
  private keysOf(target: OutgoingEnvelope['target']): PartitionKeys {
    if (this.partitioned === undefined) {
      return { stream: this.key, epoch: this.epochKey, idempotency: `${this.key}:idem:` };
    }
    return partitionKeys(this.key, this.partitioned.partitionOf(target), this.options.partitions);
  }

  /** Appends an entry (without `p` and `g`, which the script adds); resolves with its stream id once Redis stored it. */
  private async append(fields: string[], idempotencyKey: string | undefined, keys: PartitionKeys): Promise<string> {
    // Only the very first connection attempt is waited for; after it, down means down.
    if (!this.publisher.isReady) await this.publisher.start().catch(noop);
    // An event appended before the reader knows where the stream ends would never reach this hub's connections.
    if (this.deliver !== undefined && !this.readerStarted()) await this.startup?.catch(noop);
    if (this.closed) throw closedError();
    if (!this.publisher.isReady || (this.deliver !== undefined && !this.readerStarted())) {
      throw unavailable(
        this.publisher.isReady ? new Error('the reader has not reached Redis yet') : undefined,
        'offline',
      );
    }
    return runPublish(this.publisher, {
      key: keys.stream,
      epochKey: keys.epoch,
      idempotencyKey,
      maxLength: this.options.maxLength,
      maxAge: this.options.maxAge,
      idempotencyWindow: this.options.idempotencyWindow,
      fields,
    });
  }

  /** True once the reader (with partitions: of broadcasts) knows where its stream ends. */
  private readerStarted(): boolean {
    return this.partitioned === undefined ? this.reader.cursor !== undefined : this.partitioned.broadcastStarted();
  }

  private hooks(role: string): ConnectionHooks {
    return connectionHooks(this.options.logger, this.key, role);
  }
}

function noop(): void {}

/**
 * Creates a Redis broker: many instances, one hub. Pass it to `createHub({ broker })` on every instance.
 *
 * @example
 * ```ts
 * const hub = createHub({ broker: createRedisBroker({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }) });
 * ```
 * @param connection `{ url }` (`redis://`, `rediss://` for TLS), or `{ client }`: a node-redis v5 client whose
 *   settings the broker copies with `duplicate()` (your client itself is never used or closed).
 * @throws SseError/SseTypeError/SseRangeError with code `SSE_INVALID_OPTION` for a bad connection or option.
 */
export function createRedisBroker(connection: RedisConnection, options?: RedisBrokerOptions): RedisBroker {
  return new RedisBroker(connection, options);
}
