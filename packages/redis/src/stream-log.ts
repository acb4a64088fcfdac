import { randomBytes } from 'node:crypto';
import { SseTypeError } from '@ssekit/core';
import {
  type AppendResult,
  type CreateResult,
  checkAppend,
  checkLimits,
  checkListener,
  checkPosition,
  checkStreamKey,
  type LogAppend,
  type LogEntry,
  type ProducerLease,
  type ReadResult,
  type StreamEnd,
  type StreamLog,
  type StreamLogLimits,
} from '@ssekit/core/broker';
import type { Connection } from './connection.js';
import { closedError } from './errors.js';
import type { RedisConnection, ResolvedRedisBrokerOptions } from './options.js';
import { CancelListeners } from './stream-log-cancels.js';
import { cancelChannel, encodeEntry, type StreamKeys, streamKeys, terminalEntry } from './stream-log-codec.js';
import { Follower } from './stream-log-follower.js';
import { checkProducers, renewLeases } from './stream-log-lease.js';
import { OwnedStreams } from './stream-log-owned.js';
import { Presence } from './stream-log-presence.js';
import { readStream, type StreamRead, streamPosition } from './stream-log-read.js';
import { APPEND, CANCEL, CREATE, runScript, unexpectedReply } from './stream-log-script.js';
import { Subscriber } from './stream-log-subscriber.js';

/**
 * The resumable streams of a {@link RedisBroker} (`broker.streams`): each stream's log in Redis, shared by every
 * instance on the same server and broker key. docs/scaling.md ("Resumable streams in Redis") lists its keys, their
 * memory and their expiry.
 *
 * - Commands go over the broker's publishing connection; new entries and cancels reach other instances over one
 *   pub/sub connection per broker (`ssekit-subscriber` in `CLIENT LIST`), opened on the first `follow()` or
 *   `onCancel()`, with one channel per followed stream, so an instance only hears about the streams it serves.
 * - `follow()` catches up from the list whenever pub/sub may have missed something (the subscription just made, a
 *   reconnection, a gap in `seq`), so its listener gets every entry once, in order. A followed stream that is gone
 *   before its end (expired between appends, Redis lost its data) gives its listeners a terminal `ssekit-error`
 *   entry with reason `lost`, which the log itself never stored.
 * - A cancel missed while the pub/sub connection was down is found after it reconnects, for the streams this
 *   instance created.
 * - Methods that need Redis reject with `SSE_BROKER_UNAVAILABLE` while it is unreachable: "not reachable" means
 *   nothing was done; "did not confirm" means a write may or may not have been done (an append's entry may be in the
 *   log: end the stream rather than repeat it).
 */
export class RedisStreamLog implements StreamLog {
  private readonly instance = randomBytes(9).toString('base64url');
  private readonly cancels: string;
  private readonly subscriber: Subscriber;
  private readonly presence: Presence;
  private readonly followers = new Map<string, Follower>();
  private readonly cancelListeners: CancelListeners;
  private readonly owned: OwnedStreams;
  private cancelsCheckedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** Made by the broker, with its publishing connection and options. */
  constructor(
    redis: RedisConnection,
    private readonly connection: Connection,
    private readonly options: ResolvedRedisBrokerOptions,
  ) {
    this.cancels = cancelChannel(options.key);
    this.owned = new OwnedStreams(connection, (key) => this.keys(key).meta);
    const report = (message: string, error: unknown): void => options.logger.error(message, error);
    this.cancelListeners = new CancelListeners(report);
    this.subscriber = new Subscriber(
      redis,
      this.cancels,
      options.commandTimeout,
      {
        down: (error) =>
          options.logger.error(
            `[ssekit] the Redis subscriber connection for ${options.key}'s resumable streams is down; reconnecting in the background (followers catch up from Redis when it is back).`,
            error,
          ),
        up: (downFor) => {
          if (downFor !== undefined) {
            options.logger.warn(
              `[ssekit] the Redis subscriber connection for ${options.key}'s resumable streams is back after ${downFor} ms.`,
            );
          }
        },
      },
      report,
    );
    this.presence = new Presence(
      connection,
      (key) => this.keys(key).readers,
      this.instance,
      options.streamReaderLease,
      report,
    );
  }

  async create(key: string, owner: string | undefined, limits: StreamLogLimits): Promise<CreateResult> {
    this.assertOpen();
    checkStreamKey(key);
    if (owner !== undefined && typeof owner !== 'string') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'A resumable stream owner must be a string or undefined.');
    }
    const { maxEvents, maxBytes, ttl } = checkLimits(limits);
    const k = this.keys(key);
    const generation = randomBytes(9).toString('base64url');
    const reply = await runScript(
      this.connection,
      CREATE,
      [k.meta, k.log, k.tomb],
      [
        generation,
        owner === undefined ? '-' : `+${owner}`,
        String(maxEvents),
        String(maxBytes),
        String(ttl),
        String(this.options.streamTombstone),
        String(this.options.streamProducerLease),
      ],
      `creating stream ${JSON.stringify(key)}`,
    );
    if (reply === 0) return { ok: false, reason: 'exists' };
    if (reply !== 1) throw unexpectedReply('create', reply);
    this.owned.created(key, generation, ttl);
    this.startTimer();
    return { ok: true, generation };
  }

  async append(
    key: string,
    generation: string,
    entry: LogAppend & { readonly end?: StreamEnd },
  ): Promise<AppendResult> {
    this.assertOpen();
    checkStreamKey(key);
    if (typeof generation !== 'string' || generation === '') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'append() needs the generation create() answered.');
    }
    const end = checkAppend(entry);
    const k = this.keys(key);
    const reply = await runScript(
      this.connection,
      APPEND,
      [k.meta, k.log, k.tomb],
      [
        generation,
        encodeEntry(entry),
        String(Buffer.byteLength(entry.data)),
        end,
        encodeEntry(terminalEntry('too-large')),
        k.channel,
      ],
      `appending to stream ${JSON.stringify(key)}`,
    );
    if (!Array.isArray(reply) || ![0, 1, 2].includes(reply[0] as number)) throw unexpectedReply('append', reply);
    const status = reply[0] as 0 | 1 | 2;
    this.owned.appended(key, generation, status === 1, end !== '');
    if (status === 0) return { ok: false, reason: 'stopped' };
    if (status === 2) return { ok: false, reason: 'full' };
    const seq = reply[1];
    if (typeof seq !== 'number') throw unexpectedReply('append', reply);
    return { ok: true, seq };
  }

  async read(key: string, after: number): Promise<ReadResult> {
    this.assertOpen();
    checkStreamKey(key);
    checkPosition(after);
    const result = await this.readAll(key, after);
    if (result.status !== 'ok') return { status: result.status };
    return { status: 'ok', owner: result.owner, entries: result.entries, head: result.head, ended: result.ended };
  }

  follow(key: string, listener: (entry: LogEntry) => void): () => void {
    this.assertOpen();
    checkStreamKey(key);
    checkListener(listener, 'follow');
    let follower = this.followers.get(key);
    if (follower === undefined) {
      const k = this.keys(key);
      const created = new Follower({
        position: () => streamPosition(this.connection, k),
        read: async (after) => {
          const result = await this.readAll(key, after);
          return result.status === 'ok' ? { generation: result.generation, entries: result.entries } : undefined;
        },
        report: (message, error) => this.options.logger.error(message, error),
      });
      follower = created;
      this.followers.set(key, created);
      this.subscriber.add(k.channel, { message: (text) => created.message(text), active: () => created.sync() });
      this.startTimer();
    }
    // A listener function given twice is wrapped, so that each follow() has its own place and its own unfollow.
    const own = (entry: LogEntry): void => listener(entry);
    follower.listeners.add(own);
    const current = follower;
    let followed = true;
    return () => {
      if (!followed) return;
      followed = false;
      current.listeners.delete(own);
      if (current.listeners.size === 0 && this.followers.get(key) === current) {
        current.stop();
        this.followers.delete(key);
        this.subscriber.remove(this.keys(key).channel);
      }
    };
  }

  async cancel(key: string): Promise<'cancelled' | 'ended' | 'unknown'> {
    this.assertOpen();
    checkStreamKey(key);
    const k = this.keys(key);
    const reply = await runScript(
      this.connection,
      CANCEL,
      [k.meta, k.log, k.tomb],
      [encodeEntry(terminalEntry('cancelled')), k.channel, this.cancels, `${this.instance} ${key}`],
      `cancelling stream ${JSON.stringify(key)}`,
    );
    if (reply !== 'cancelled' && reply !== 'ended' && reply !== 'unknown') throw unexpectedReply('cancel', reply);
    // Other instances hear it on the cancel channel; this one is told here, without a round trip.
    if (reply === 'cancelled') {
      this.owned.forget(key);
      this.cancelListeners.notify(key);
    }
    return reply;
  }

  onCancel(listener: (key: string) => void): () => void {
    this.assertOpen();
    checkListener(listener, 'onCancel');
    const remove = this.cancelListeners.add(listener);
    if (this.cancelListeners.size === 1) {
      this.subscriber.add(this.cancels, {
        message: (text) => {
          const space = text.indexOf(' ');
          if (space <= 0 || text.slice(0, space) === this.instance) return;
          const key = text.slice(space + 1);
          this.owned.forget(key);
          this.cancelListeners.notify(key);
        },
        active: () => this.owned.checkMissedCancels((key) => this.cancelListeners.notify(key)),
      });
      this.startTimer();
    }
    return () => {
      if (!remove()) return;
      if (this.cancelListeners.size === 0) this.subscriber.remove(this.cancels);
    };
  }

  setReaders(key: string, present: boolean): void {
    this.assertOpen();
    checkStreamKey(key);
    if (typeof present !== 'boolean') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'setReaders() takes true (readers here) or false (none left).');
    }
    this.presence.set(key, present);
    if (present) this.startTimer();
  }

  async hasReaders(key: string): Promise<boolean> {
    this.assertOpen();
    checkStreamKey(key);
    return this.presence.has(key);
  }

  get producerLease(): number {
    return this.options.streamProducerLease;
  }

  /** One script per stream, all sent at once: node-redis pipelines them into one round trip. */
  async renew(streams: readonly ProducerLease[]): Promise<void> {
    this.assertOpen();
    await renewLeases(this.connection, (key) => this.keys(key), streams);
  }

  /**
   * One script per stream, all sent at once. A stream gone under its followers here ends them with `lost`; one
   * whose producer's lease lapsed gets its `lost` entry in Redis, which reaches followers everywhere over pub/sub.
   */
  async check(keys: readonly string[]): Promise<void> {
    this.assertOpen();
    await checkProducers(
      this.connection,
      (key) => this.keys(key),
      keys,
      (key) => this.followers.get(key)?.sync(),
    );
  }

  /**
   * Withdraws this instance's reader leases, stops following and closes the pub/sub connection. Called by the
   * broker's `close()`, before its own connections close. Never rejects.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const follower of this.followers.values()) follower.stop();
    this.followers.clear();
    this.cancelListeners.clear();
    this.owned.clear();
    this.closing = Promise.all([this.presence.close(), this.subscriber.close()]).then(noop);
    return this.closing;
  }

  private keys(key: string): StreamKeys {
    return streamKeys(this.options.key, key);
  }

  /** Every entry after `after`, read in pages of `batchSize`; starts over if the stream is replaced meanwhile. */
  private readAll(key: string, after: number): Promise<StreamRead> {
    return readStream(this.connection, this.keys(key), key, after, this.options.batchSize);
  }

  /** One timer per broker, while there is something to renew, retry, watch or forget. */
  private startTimer(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => this.tick(), Math.max(100, Math.floor(this.options.streamReaderLease / 3)));
    this.timer.unref();
  }

  private tick(): void {
    this.presence.renew();
    for (const follower of this.followers.values()) if (follower.needsSync) follower.sync();
    const now = Date.now();
    this.owned.expire(now);
    if (this.owned.size > 0 && this.cancelListeners.size > 0 && now - this.cancelsCheckedAt >= CANCEL_CHECK_EVERY) {
      this.cancelsCheckedAt = now;
      this.owned.checkMissedCancels((key) => this.cancelListeners.notify(key));
    }
    if (this.subscriber.size > 0) this.subscriber.check();
    if (this.presence.size === 0 && this.followers.size === 0 && this.owned.size === 0 && this.subscriber.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function noop(): void {}

// How often, at most, the streams this instance produces are checked for a cancel pub/sub did not deliver, ms.
const CANCEL_CHECK_EVERY = 1000;
