import { SseError, SseTypeError } from '@ssekit/core';
import {
  assertClientId,
  type Broker,
  type ControlMessage,
  checkRetry,
  type Envelope,
  matches,
  type OutgoingEnvelope,
  type ReplayFilter,
  type ReplayResult,
  type Target,
} from '@ssekit/core/broker';
import { ErrorReply } from 'redis';
import { clientFactory } from './clients.js';
import { decodeEntries, decodeRead, encodeControl, encodeEnvelope, type StreamEntry } from './codec.js';
import { Connection, type ConnectionHooks, pause, reconnectDelay } from './connection.js';
import {
  checkConnection,
  type RedisBrokerOptions,
  type RedisConnection,
  type ResolvedRedisBrokerOptions,
  resolveOptions,
} from './options.js';
import { PUBLISH_SCRIPT, PUBLISH_SHA } from './script.js';
import { compareStreamIds, isStreamId } from './stream-id.js';

const ALL: Target = Object.freeze({ type: 'all' });

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
 * - Control messages (`hub.disconnect()`) are entries of the same stream, so every instance acts on them in order
 *   with the events around them; they carry no data, and are never delivered or replayed as events.
 */
export class RedisBroker implements Broker {
  /** The Redis stream key. */
  readonly key: string;
  private readonly options: ResolvedRedisBrokerOptions;
  private readonly publisher: Connection;
  private readonly reader: Connection;
  private deliver: ((envelope: Envelope) => void) | undefined;
  private onControl: ((message: ControlMessage) => void) | undefined;
  // The id of the last entry the reader delivered to the hub ('' for "none, the stream was empty"); undefined until
  // the reader first reached Redis. Everything the reader delivers later is newer.
  private cursor: string | undefined;
  private readerGeneration = 0;
  private startup: Promise<void> | undefined;
  private settleStartup: ((error?: unknown) => void) | undefined;
  private loop: Promise<void> | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readProblem: string | undefined;
  private malformedReported = false;
  // Replays waiting for the reader to deliver up to an id (see replay()).
  private readonly progressWaiters = new Set<{ id: string; done: (reached: boolean) => void }>();

  /** Prefer {@link createRedisBroker}. Validates both arguments and throws a typed error on a bad one. */
  constructor(connection: RedisConnection, options?: RedisBrokerOptions) {
    const resolvedConnection = checkConnection(connection);
    this.options = resolveOptions(options);
    this.key = this.options.key;
    this.publisher = new Connection(
      clientFactory(resolvedConnection, 'publish'),
      'publish',
      this.options.commandTimeout,
      0,
      this.hooks('publish'),
    );
    this.reader = new Connection(
      clientFactory(resolvedConnection, 'reader'),
      'reader',
      this.options.commandTimeout,
      this.options.blockTimeout,
      this.hooks('reader'),
    );
  }

  /** True while both connections to Redis are up and the reader knows where it is in the stream. */
  get connected(): boolean {
    return this.publisher.isReady && this.reader.isReady && this.cursor !== undefined;
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
    this.openPublisher();
    this.reader.start().catch((error) => this.settleStartup?.(unavailable(error, 'offline')));
    this.loop = this.read().catch((error) => {
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
   * @throws (rejects) SseError `SSE_BROKER_UNAVAILABLE` when Redis is down or does not confirm in time (no offline
   *   queue: the caller knows at once); SseTypeError `SSE_INVALID_FIELD` for a caller-given `id` (the stream id is
   *   the event id, because it is the cursor every instance can resume from).
   */
  async publish(envelope: OutgoingEnvelope): Promise<string> {
    if (this.closed) throw closedError();
    if (envelope.id !== undefined) {
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        'The Redis broker assigns event ids itself (Redis stream ids, ordered across instances and used for Last-Event-ID resume), so `id` cannot be set. Put your own id in the data instead.',
      );
    }
    return this.append(encodeEnvelope(envelope));
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
    if (message === null || typeof message !== 'object' || message.action !== 'disconnect') {
      throw new SseTypeError('SSE_INVALID_FIELD', "A control message must have `action: 'disconnect'`.");
    }
    assertClientId(message.clientId);
    if (message.retry !== undefined) checkRetry(message.retry);
    if (typeof message.origin !== 'string') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'A control message must name its `origin` (a string).');
    }
    await this.append(encodeControl(message));
  }

  /** Appends an entry (without `p`, which the script adds); resolves with its stream id once Redis stored it. */
  private async append(fields: string[]): Promise<string> {
    this.openPublisher();
    // Only the very first connection attempt is waited for; after it, down means down.
    if (!this.publisher.isReady) await this.publisher.start().catch(noop);
    // An event appended before the reader knows where the stream ends would never reach this hub's connections.
    if (this.deliver !== undefined && this.cursor === undefined) await this.startup?.catch(noop);
    if (this.closed) throw closedError();
    if (!this.publisher.isReady || (this.deliver !== undefined && this.cursor === undefined)) {
      throw unavailable(
        this.publisher.isReady ? new Error('the reader has not reached Redis yet') : undefined,
        'offline',
      );
    }
    const args = [
      'EVALSHA',
      PUBLISH_SHA,
      '1',
      this.key,
      String(this.options.maxLength),
      String(this.options.maxAge ?? 0),
      ...fields,
    ];
    let reply: unknown;
    try {
      reply = await this.publisher.command(args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw unavailable(error, 'sent');
      // Redis restarted or flushed its script cache: EVAL loads the script again.
      args[0] = 'EVAL';
      args[1] = PUBLISH_SCRIPT;
      try {
        reply = await this.publisher.command(args);
      } catch (retryError) {
        throw unavailable(retryError, 'sent');
      }
    }
    if (typeof reply !== 'string' || !isStreamId(reply)) {
      throw unavailable(
        new Error(`the publish script answered ${describeReply(reply)} instead of a stream id`),
        'sent',
      );
    }
    return reply;
  }

  /**
   * The events after `lastEventId` that match `filter`, oldest first, read in pages of `batchSize` with `XRANGE`.
   * A gap (`unknown-id` for an id this stream never held, `expired` for one trimmed away) carries as `head` the last
   * id this instance delivered, so the client's cursor lines up with the live events that follow.
   * `unavailable` when this instance's reader has not yet delivered `lastEventId` itself (it is catching up after a
   * disconnection), or does not deliver what the replay read within `commandTimeout`: live events would otherwise
   * reach the client twice. The hub then closes the connection and the client retries with the same cursor.
   * @throws SseError `SSE_BROKER_UNAVAILABLE` when Redis cannot be read.
   */
  async replay(lastEventId: string, filter: ReplayFilter): Promise<ReplayResult> {
    // Read before any await: the hub started holding live events for this stream just now, so everything the reader
    // delivers from here on is newer than `delivered`.
    const delivered = this.cursor;
    if (this.closed) throw closedError();
    if (delivered === undefined) throw unavailable(new Error('this instance has not reached Redis yet'), 'offline');
    const head = delivered === '' ? undefined : delivered;
    if (typeof lastEventId !== 'string' || !isStreamId(lastEventId)) return { ok: false, reason: 'unknown-id', head };

    const batch = this.options.batchSize;
    // Inclusive start: the entry itself proves the id is real; when it was trimmed, its successor still names it.
    const firstPage = await this.range(lastEventId, batch + 1);
    const first = firstPage[0];
    if (first === undefined) return { ok: false, reason: 'unknown-id', head };
    if (first.id !== lastEventId && first.prev !== lastEventId) {
      const oldest = (await this.range('-', 1))[0];
      const expired = oldest !== undefined && compareStreamIds(lastEventId, oldest.id) < 0;
      return { ok: false, reason: expired ? 'expired' : 'unknown-id', head };
    }
    if (compareStreamIds(delivered, lastEventId) < 0) return { ok: false, reason: 'unavailable' };

    const events: Envelope[] = [];
    collect(first.id === lastEventId ? firstPage.slice(1) : firstPage, filter, events);
    let last = (firstPage[firstPage.length - 1] as StreamEntry).id;
    let full = firstPage.length === batch + 1;
    while (full) {
      const page = await this.range(`(${last}`, batch);
      const next = page[0];
      if (next === undefined) break;
      // Trimmed while we were reading: what followed `last` is gone.
      if (next.prev !== undefined && next.prev !== last) return { ok: false, reason: 'expired', head };
      collect(page, filter, events);
      last = (page[page.length - 1] as StreamEntry).id;
      full = page.length === batch;
    }
    // The replay may have read entries the reader has not delivered yet. Their live copies must reach the hub while
    // it still holds this connection's live events (it drops those the replay sent); after that they would be
    // written a second time. So wait until the reader has delivered everything the replay read.
    if (!(await this.delivered(last))) return { ok: false, reason: 'unavailable' };
    return { ok: true, events };
  }

  /** Stops the reader at once (its blocking read is cut), lets pending publishes finish briefly, disconnects. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.deliver = undefined;
    this.onControl = undefined;
    this.abort.abort();
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    for (const waiter of [...this.progressWaiters]) waiter.done(false);
    // Nothing will be delivered any more; a hub still waiting for the start has nothing left to wait for.
    this.settleStartup?.();
    this.closing = (async () => {
      await this.reader.close();
      await this.loop;
      await this.publisher.close(this.options.commandTimeout);
    })();
    return this.closing;
  }

  private openPublisher(): void {
    if (this.watchdog === undefined) {
      const every = Math.max(50, Math.min(1000, Math.floor(this.options.commandTimeout / 2)));
      this.watchdog = setInterval(() => {
        const now = Date.now();
        this.publisher.check(now);
        this.reader.check(now);
      }, every);
      this.watchdog.unref();
    }
    this.publisher.start().catch(noop);
  }

  private async read(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        await this.reader.untilReady();
        if (this.readerGeneration !== this.reader.generation) {
          await this.sync();
          this.readerGeneration = this.reader.generation;
        }
        const reply = await this.reader.command([
          'XREAD',
          'COUNT',
          String(this.options.batchSize),
          'BLOCK',
          String(this.options.blockTimeout),
          'STREAMS',
          this.key,
          this.cursor || '0-0',
        ]);
        this.consume(decodeRead(reply));
        failures = 0;
        if (this.readProblem !== undefined) {
          this.readProblem = undefined;
          this.options.logger.warn(`[ssekit] reading ${this.key} from Redis works again.`);
        }
      } catch (error) {
        if (this.closed) break;
        this.settleStartup?.(unavailable(error, 'offline'));
        this.reportReadProblem(error);
        await pause(reconnectDelay(failures++), this.abort.signal);
      }
    }
  }

  /** After each (re)connection: learn where the stream ends, and notice when it lost what this instance delivered. */
  private async sync(): Promise<void> {
    const newest = decodeEntries(await this.reader.command(['XREVRANGE', this.key, '+', '-', 'COUNT', '1']))[0];
    const end = newest?.id ?? '';
    if (this.cursor === undefined) {
      this.cursor = end;
      this.settleStartup?.();
      return;
    }
    if (compareStreamIds(end, this.cursor) < 0) {
      this.missed(
        end,
        `the stream now ends at ${end || 'nothing'}, before ${this.cursor}, the last event this instance delivered (Redis restarted without persistence, or failed over and lost writes)`,
      );
      this.cursor = end;
    }
  }

  private consume(entries: readonly StreamEntry[]): void {
    for (const entry of entries) {
      if (entry.prev !== undefined && entry.prev !== this.cursor) {
        this.missed(
          entry.prev,
          `entry ${entry.id} follows ${entry.prev || 'nothing'}, but the last entry this instance delivered is ${this.cursor || 'none'} (it was cut off from Redis longer than the history lasts, or Redis lost data)`,
        );
      }
      this.cursor = entry.id;
      if (entry.envelope !== undefined) this.emit(entry.envelope);
      else if (entry.control !== undefined) this.emitControl(entry.control);
      else this.reportMalformed(entry.id);
    }
    if (this.progressWaiters.size > 0) this.wakeProgressWaiters();
  }

  /**
   * Resolves `true` once the reader has delivered `id` (at once if it has), `false` when that takes longer than
   * `commandTimeout` (the reader is down or far behind) or the broker closes.
   */
  private delivered(id: string): Promise<boolean> {
    if (this.cursor !== undefined && compareStreamIds(this.cursor, id) >= 0) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        id,
        done: (reached: boolean) => {
          clearTimeout(timer);
          this.progressWaiters.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), this.options.commandTimeout);
      timer.unref();
      this.progressWaiters.add(waiter);
    });
  }

  private wakeProgressWaiters(): void {
    const cursor = this.cursor ?? '';
    for (const waiter of [...this.progressWaiters]) {
      if (compareStreamIds(cursor, waiter.id) >= 0) waiter.done(true);
    }
  }

  /** Tells every local connection that events were lost, moving its cursor to just before what comes next. */
  private missed(resetId: string, why: string): void {
    const event = this.options.resetEvent;
    this.options.logger.error(
      `[ssekit] this instance missed events of ${this.key}: ${why}. ${
        event === false
          ? 'Clients were not told (resetEvent is false).'
          : `Its connections were sent "${event}" so that clients refetch their state.`
      }`,
    );
    if (event !== false) {
      this.emit({ id: resetId, target: ALL, event, data: JSON.stringify({ reason: 'expired' }) });
    }
  }

  private emit(envelope: Envelope): void {
    try {
      this.deliver?.(envelope);
    } catch (error) {
      this.options.logger.error('[ssekit] delivering an event from Redis failed; the reader goes on.', error);
    }
  }

  private emitControl(message: ControlMessage): void {
    try {
      this.onControl?.(message);
    } catch (error) {
      this.options.logger.error('[ssekit] acting on a control message from Redis failed; the reader goes on.', error);
    }
  }

  private async range(start: string, count: number): Promise<StreamEntry[]> {
    let reply: unknown;
    try {
      reply = await this.publisher.command(['XRANGE', this.key, start, '+', 'COUNT', String(count)]);
    } catch (error) {
      throw unavailable(error, this.publisher.isReady ? 'sent' : 'offline');
    }
    return decodeEntries(reply);
  }

  private reportReadProblem(error: unknown): void {
    // A lost connection is reported by the connection itself; here only what Redis answered, once per kind.
    if (!isReplyError(error) && !(error instanceof TypeError)) return;
    const message = error.message;
    if (this.readProblem === message) return;
    this.readProblem = message;
    this.options.logger.error(`[ssekit] reading ${this.key} from Redis fails; retrying with backoff.`, error);
  }

  private reportMalformed(id: string): void {
    if (this.malformedReported) return;
    this.malformedReported = true;
    this.options.logger.warn(
      `[ssekit] entry ${id} of ${this.key} was not written by ssekit, or by a newer version of it, and is skipped (reported once). Use a key of its own for the broker, and the same @ssekit/redis version on every instance.`,
    );
  }

  private hooks(role: 'publish' | 'reader'): ConnectionHooks {
    const consequence =
      role === 'publish'
        ? 'send/publish/broadcast reject with SSE_BROKER_UNAVAILABLE until it is back'
        : 'local connections stay open and catch up from the stream when it is back';
    return {
      down: (error) =>
        this.options.logger.error(
          `[ssekit] the Redis ${role} connection for ${this.key} is down; reconnecting in the background (${consequence}).`,
          error,
        ),
      up: (downFor) => {
        if (downFor !== undefined) {
          this.options.logger.warn(
            `[ssekit] the Redis ${role} connection for ${this.key} is back after ${downFor} ms.`,
          );
        }
      },
    };
  }
}

function collect(entries: readonly StreamEntry[], filter: ReplayFilter, into: Envelope[]): void {
  for (const entry of entries) {
    const envelope = entry.envelope;
    if (envelope !== undefined && matches(envelope.target, filter)) into.push(envelope);
  }
}

function closedError(): SseError {
  return new SseError('SSE_HUB_CLOSED', 'This Redis broker is closed; it no longer accepts events.');
}

/**
 * The error a caller sees when Redis cannot take an event. `offline`: nothing was sent. `sent`: the command was sent
 * but not confirmed, so the event may or may not be in the stream.
 */
function unavailable(cause: unknown, stage: 'offline' | 'sent'): SseError {
  if (cause instanceof SseError) return cause;
  const detail = cause instanceof Error ? cause.message : cause === undefined ? 'not connected' : String(cause);
  if (isReplyError(cause)) {
    return new SseError('SSE_BROKER_UNAVAILABLE', `Redis refused the command: ${detail}`, { cause, statusCode: 503 });
  }
  const message =
    stage === 'offline'
      ? `Redis is not reachable (${detail}), so nothing was sent. Retry once it is back (broker.connected tells).`
      : `Redis did not confirm the command (${detail}); an event may or may not have been stored.`;
  return new SseError('SSE_BROKER_UNAVAILABLE', message, { cause, statusCode: 503 });
}

/** True for an error Redis answered with (`ERR …`, `WRONGTYPE …`), as opposed to a connection failure. */
function isReplyError(error: unknown): error is Error {
  // By class name as well: a `client` template may come from another copy of node-redis than this package's.
  return (
    error instanceof ErrorReply ||
    (error instanceof Error && REPLY_ERROR_CLASSES.has((error.constructor as { name?: string }).name ?? ''))
  );
}

const REPLY_ERROR_CLASSES = new Set(['ErrorReply', 'SimpleError', 'BlobError']);

function describeReply(reply: unknown): string {
  if (reply === null) return 'null';
  if (Array.isArray(reply)) return 'a list';
  return typeof reply === 'string' ? JSON.stringify(reply.slice(0, 40)) : typeof reply;
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
