import type { ControlMessage, Envelope, Target } from '@ssekit/core/broker';
import { decodeEntries, decodeRead, type StreamEntry } from './codec.js';
import { type Connection, pause, reconnectDelay } from './connection.js';
import { isReplyError, unavailable } from './errors.js';
import type { ResolvedRedisBrokerOptions } from './options.js';
import { compareStreamIds } from './stream-id.js';

const ALL: Target = Object.freeze({ type: 'all' });

/** Where a {@link StreamReader} hands what it reads. */
export interface ReaderSink {
  deliver(envelope: Envelope): void;
  control(message: ControlMessage): void;
  /** The reader first reached Redis (no argument), or an early attempt failed. Called until the first success. */
  started(error?: unknown): void;
  /** Who the reset event for a loss in this stream goes to; everyone when absent (the whole log is this stream). */
  resetTarget?(): Target;
}

/**
 * The one blocking reader of an instance: loops on `XREAD` over the stream and its epoch stream, delivers every
 * entry once, in stream order, and turns every sign of lost entries into the reset event:
 * - a broken chain (an entry whose predecessor is not the last entry delivered: cut off longer than the history,
 *   or Redis lost data);
 * - a stream that ends before the last entry delivered, found after a reconnection;
 * - a new epoch (the stream was emptied or recreated, by DEL, FLUSHALL or a restart without data): its entries may
 *   repeat ids at or below what was delivered, so the new log is read from its start.
 */
export class StreamReader {
  /**
   * The id of the last entry delivered ('' for "none, the stream was empty", or the start of a new log); undefined
   * until the reader first reached Redis. Everything the reader delivers later is newer.
   */
  cursor: string | undefined;
  // The epoch of the log `cursor` is in; undefined while nothing with an epoch was delivered.
  private epoch: string | undefined;
  // The id of the newest epoch marker seen: XREAD on the epoch stream waits for one after it.
  private epochCursor = '0-0';
  // After a new log began: ids of the new log in this range were also ids of the old one (see isAmbiguous).
  private overlap: { from: string; to: string } | undefined;
  private pendingOverlapTop: string | undefined;
  private generation = 0;
  private stopped = false;
  private readProblem: string | undefined;
  private malformedReported = false;
  // Replays waiting for the reader to deliver up to an id (see delivered()).
  private readonly waiters = new Set<{ id: string; done: (reached: boolean) => void }>();

  constructor(
    private readonly connection: Connection,
    private readonly options: ResolvedRedisBrokerOptions,
    private readonly epochKey: string,
    private readonly sink: ReaderSink,
    private readonly signal: AbortSignal,
    private readonly key: string = options.key,
    /**
     * When set (a `Date.now()`), the reader starts at the position the stream had at that moment (by Redis' clock,
     * less one round trip) instead of at its end: a partition read from the moment a connection needed it.
     */
    private readonly since?: number,
  ) {}

  /** Reads until {@link StreamReader.stop}; retries with backoff on any failure. Never rejects for Redis errors. */
  async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.connection.untilReady();
        if (this.generation !== this.connection.generation) {
          await this.sync();
          this.generation = this.connection.generation;
        }
        const streams = decodeRead(
          await this.connection.command([
            'XREAD',
            'COUNT',
            String(this.options.batchSize),
            'BLOCK',
            String(this.options.blockTimeout),
            'STREAMS',
            this.key,
            this.epochKey,
            this.cursor || '0-0',
            this.epochCursor,
          ]),
        );
        if (streams.size === 0) await this.checkEpoch();
        else this.consume(streams.get(this.epochKey) ?? [], streams.get(this.key) ?? []);
        failures = 0;
        if (this.readProblem !== undefined) {
          this.readProblem = undefined;
          this.options.logger.warn(`[ssekit] reading ${this.key} from Redis works again.`);
        }
      } catch (error) {
        if (this.stopped) break;
        this.sink.started(unavailable(error, 'offline'));
        this.reportReadProblem(error);
        await pause(reconnectDelay(failures++), this.signal);
      }
    }
  }

  /** Stops the loop (its blocking read is cut by closing the connection) and fails every waiting replay. */
  stop(): void {
    this.stopped = true;
    for (const waiter of [...this.waiters]) waiter.done(false);
  }

  /**
   * True for an id that both the current log and the one before it issued (the log was recreated and its ids
   * started at or below the old position): a cursor with such an id cannot be placed in either log.
   */
  isAmbiguous(id: string): boolean {
    const overlap = this.overlap;
    return overlap !== undefined && compareStreamIds(id, overlap.from) >= 0 && compareStreamIds(id, overlap.to) <= 0;
  }

  /**
   * Resolves `true` once the reader has delivered `id` (at once if it has), `false` when that takes longer than
   * `commandTimeout` (the reader is down or far behind) or the reader stops.
   */
  delivered(id: string): Promise<boolean> {
    if (this.cursor !== undefined && compareStreamIds(this.cursor, id) >= 0) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        id,
        done: (reached: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), this.options.commandTimeout);
      timer.unref();
      this.waiters.add(waiter);
    });
  }

  /** After each (re)connection: learn where the stream ends, and notice when it lost what this instance delivered. */
  private async sync(): Promise<void> {
    // The marker first: a new epoch started between the two reads then shows in the newest entry, not the reverse.
    const marker = await this.newest(this.epochKey);
    const newest = await this.newest(this.key);
    this.epochCursor = marker?.id ?? '0-0';
    const end = newest?.id ?? '';
    if (this.cursor === undefined) {
      this.cursor = this.since === undefined || newest === undefined ? end : await this.positionAt(this.since);
      this.epoch = newest?.epoch;
      this.sink.started();
      return;
    }
    if (newest !== undefined && newest.epoch !== undefined && this.isNewLog(newest.epoch)) return;
    if (compareStreamIds(end, this.cursor) < 0) {
      this.missed(
        end,
        `the stream now ends at ${end || 'nothing'}, before ${this.cursor}, the last event this instance delivered (Redis restarted without persistence, or failed over and lost writes)`,
      );
      this.cursor = end;
      if (newest === undefined) this.epoch = undefined;
    }
  }

  /**
   * The id of the last entry appended before local time `since` (by Redis' clock, less the time the question took:
   * an entry appended after `since` is never counted before it). An entry that follows a trimmed one stands for
   * it by its `p` field, so the chain still proves nothing was missed from there.
   */
  private async positionAt(since: number): Promise<string> {
    const time = await this.connection.command(['TIME']);
    const elapsed = Date.now() - since;
    if (!Array.isArray(time) || typeof time[0] !== 'string' || typeof time[1] !== 'string') {
      throw new TypeError('Redis answered TIME with something that is not [seconds, microseconds].');
    }
    const from = Math.max(0, Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) - elapsed - 1);
    const before = decodeEntries(
      await this.connection.command(['XREVRANGE', this.key, `(${from}-0`, '-', 'COUNT', '1']),
    )[0];
    if (before !== undefined) return before.id;
    const after = decodeEntries(await this.connection.command(['XRANGE', this.key, `${from}-0`, '+', 'COUNT', '1']))[0];
    return after?.prev ?? '';
  }

  /** When a blocking read found nothing: a log recreated with an epoch below the known one wakes no read. */
  private async checkEpoch(): Promise<void> {
    const marker = await this.newest(this.epochKey);
    if (marker === undefined || marker.id === this.epochCursor) return;
    this.epochCursor = marker.id;
    this.isNewLog(epochOf(marker));
  }

  private consume(markers: readonly StreamEntry[], entries: readonly StreamEntry[]): void {
    for (const marker of markers) {
      this.epochCursor = marker.id;
      // The rest of this read belongs to a log this reader now reads again from its start.
      if (this.isNewLog(epochOf(marker))) return;
    }
    for (const entry of entries) {
      if (entry.epoch !== undefined && this.isNewLog(entry.epoch)) return;
      if (entry.prev !== undefined && entry.prev !== this.cursor) {
        this.missed(
          entry.prev,
          `entry ${entry.id} follows ${entry.prev || 'nothing'}, but the last entry this instance delivered is ${this.cursor || 'none'} (it was cut off from Redis longer than the history lasts, or Redis lost data)`,
        );
      }
      if (this.pendingOverlapTop !== undefined) {
        const top = this.pendingOverlapTop;
        this.pendingOverlapTop = undefined;
        this.overlap = compareStreamIds(entry.id, top) <= 0 ? { from: entry.id, to: top } : undefined;
      }
      this.cursor = entry.id;
      if (entry.envelope !== undefined) this.emit(entry.envelope);
      else if (entry.control !== undefined) this.emitControl(entry.control);
      else this.reportMalformed(entry.id);
    }
    this.wakeWaiters();
  }

  /**
   * True (after sending the reset) when `epoch` is not the epoch of the log this reader delivered from: the log was
   * emptied or recreated. The reader then goes back to the start of the new log, whose ids may repeat old ones.
   */
  private isNewLog(epoch: string): boolean {
    if (epoch === this.epoch) return false;
    if (this.epoch === undefined && (this.cursor === '' || this.cursor === undefined)) {
      this.epoch = epoch;
      return false;
    }
    this.missed(
      '',
      `the stream was emptied or recreated (epoch ${this.epoch ?? 'none'} became ${epoch}: DEL, FLUSHALL, or a restart without data); it is read again from its start`,
    );
    this.pendingOverlapTop = this.cursor || undefined;
    this.epoch = epoch;
    this.cursor = '';
    return true;
  }

  private async newest(key: string): Promise<StreamEntry | undefined> {
    return decodeEntries(await this.connection.command(['XREVRANGE', key, '+', '-', 'COUNT', '1']))[0];
  }

  private wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    const cursor = this.cursor ?? '';
    for (const waiter of [...this.waiters]) {
      if (compareStreamIds(cursor, waiter.id) >= 0) waiter.done(true);
    }
  }

  /**
   * Tells the local connections that read this stream that events were lost, moving their cursor to just before
   * what comes next.
   */
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
      this.emit({
        id: resetId,
        target: this.sink.resetTarget?.() ?? ALL,
        event,
        data: JSON.stringify({ reason: 'expired' }),
      });
    }
  }

  private emit(envelope: Envelope): void {
    try {
      this.sink.deliver(envelope);
    } catch (error) {
      this.options.logger.error('[ssekit] delivering an event from Redis failed; the reader goes on.', error);
    }
  }

  private emitControl(message: ControlMessage): void {
    try {
      this.sink.control(message);
    } catch (error) {
      this.options.logger.error('[ssekit] acting on a control message from Redis failed; the reader goes on.', error);
    }
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
}

/** The epoch an entry of the epoch stream marks: its `g` field, which its id (`<epoch>-0`) repeats. */
function epochOf(marker: StreamEntry): string {
  return marker.epoch ?? marker.id.slice(0, marker.id.indexOf('-'));
}
