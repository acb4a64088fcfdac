import { randomBytes } from 'node:crypto';
import { SseError, SseTypeError } from './errors.js';
import {
  checkAppend,
  checkLeases,
  checkLimits,
  checkListener,
  checkPosition,
  checkStreamKey,
  checkStreamKeys,
} from './stream-log-checks.js';
import {
  type AppendResult,
  type CreateResult,
  endEntry,
  type LogAppend,
  type LogEntry,
  type ProducerLease,
  type ReadResult,
  type StreamEnd,
  type StreamLog,
  type StreamLogLimits,
} from './stream-log-contract.js';

interface Stored {
  readonly generation: string;
  readonly owner: string | undefined;
  readonly limits: StreamLogLimits;
  readonly entries: LogEntry[];
  bytes: number;
  ended: boolean;
  expiresAt: number;
  /** When the producer's lease lapses unless renewed or appended to. */
  leaseUntil: number;
}

/** Default producer lease of the in-memory log, ms (as `@ssekit/redis`'s `streamProducerLease`). */
export const DEFAULT_PRODUCER_LEASE = 10_000;

/** Options of {@link createMemoryStreamLog}. */
export interface MemoryStreamLogOptions {
  /**
   * How long a producer's lease lasts unrenewed, ms (default 10 000). In one process it lapses only when the hub
   * producing a stream stops renewing it without closing (its event loop blocked that long, say).
   */
  readonly producerLease?: number;
  /**
   * How long an expired stream still answers `expired` (a 410) before its key is unknown (404), ms (default 60 000).
   * Only the key is kept that long.
   */
  readonly tombstone?: number;
}

/** Default `tombstone` of the in-memory log, ms. */
export const DEFAULT_MEMORY_TOMBSTONE = 60_000;

const MIN_SWEEP = 10;
const MAX_SWEEP = 1000;

/**
 * The in-memory {@link StreamLog}: one process, no other instances. The in-memory broker exposes one as `streams`,
 * and a hub whose broker has none makes its own.
 *
 * A stream is forgotten `ttl` after its last append, leaving a tombstone (reads answer `expired`, a 410) for
 * `tombstone` ms, after which the key is unknown (404) and nothing of it is left. One unref'd sweep timer serves every stream
 * of the log; it runs every quarter of the shortest `ttl` (10 ms to 1 s), so a stream expires at most that late,
 * and it stops when the log holds nothing.
 */
export class MemoryStreamLog implements StreamLog {
  private readonly streams = new Map<string, Stored>();
  /** Expired keys, with when they are forgotten. */
  private readonly tombstones = new Map<string, number>();
  private readonly followers = new Map<string, Set<(entry: LogEntry) => void>>();
  private readonly cancelListeners = new Set<(key: string) => void>();
  private readonly readers = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private period = MAX_SWEEP;
  private closed = false;
  readonly producerLease: number;
  private readonly tombstone: number;

  constructor(options: MemoryStreamLogOptions = {}) {
    const lease = options.producerLease ?? DEFAULT_PRODUCER_LEASE;
    if (typeof lease !== 'number' || !Number.isSafeInteger(lease) || lease <= 0) {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `Option \`producerLease\` must be a positive whole number of ms, got ${String(lease)}.`,
      );
    }
    this.producerLease = lease;
    const tombstone = options.tombstone ?? DEFAULT_MEMORY_TOMBSTONE;
    if (typeof tombstone !== 'number' || !Number.isSafeInteger(tombstone) || tombstone <= 0) {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `Option \`tombstone\` must be a positive whole number of ms, got ${String(tombstone)}.`,
      );
    }
    this.tombstone = tombstone;
  }

  /** Streams held (finished or not), tombstones excluded. */
  get size(): number {
    return this.streams.size;
  }

  /** Expired keys still answered as expired. */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /** True while the sweep timer runs (while the log holds a stream or a tombstone). */
  get sweeping(): boolean {
    return this.timer !== undefined;
  }

  async create(key: string, owner: string | undefined, limits: StreamLogLimits): Promise<CreateResult> {
    if (this.closed) throw closedError();
    checkStreamKey(key);
    if (owner !== undefined && typeof owner !== 'string') {
      throw new SseTypeError('SSE_INVALID_FIELD', 'A resumable stream owner must be a string or undefined.');
    }
    limits = checkLimits(limits);
    if (this.streams.has(key)) return { ok: false, reason: 'exists' };
    this.tombstones.delete(key);
    const generation = randomBytes(8).toString('hex');
    this.streams.set(key, {
      generation,
      owner,
      limits,
      entries: [],
      bytes: 0,
      ended: false,
      expiresAt: Date.now() + limits.ttl,
      leaseUntil: Date.now() + this.producerLease,
    });
    this.sweepEvery(limits.ttl);
    return { ok: true, generation };
  }

  async append(key: string, generation: string, entry: LogAppend & { end?: StreamEnd }): Promise<AppendResult> {
    checkStreamKey(key);
    checkAppend(entry);
    const stored = this.streams.get(key);
    if (stored === undefined || stored.generation !== generation || stored.ended)
      return { ok: false, reason: 'stopped' };
    if (entry.end === undefined) {
      const size = sizeOf(entry);
      const { maxEvents, maxBytes } = stored.limits;
      // One place stays for the terminal entry: the log never holds more than maxEvents entries.
      if (stored.entries.length + 2 > maxEvents || stored.bytes + size > maxBytes) {
        this.push(key, stored, endEntry({ type: 'error', reason: 'too-large' }));
        return { ok: false, reason: 'full' };
      }
      stored.bytes += size;
    }
    stored.leaseUntil = Date.now() + this.producerLease;
    return { ok: true, seq: this.push(key, stored, entry) };
  }

  async read(key: string, after: number): Promise<ReadResult> {
    checkStreamKey(key);
    checkPosition(after);
    const stored = this.streams.get(key);
    if (stored === undefined) return { status: this.tombstones.has(key) ? 'expired' : 'unknown' };
    const entries = stored.entries;
    return {
      status: 'ok',
      owner: stored.owner,
      entries: after >= entries.length ? [] : entries.slice(Math.max(0, after)),
      head: entries.length,
      ended: stored.ended,
    };
  }

  follow(key: string, listener: (entry: LogEntry) => void): () => void {
    checkStreamKey(key);
    checkListener(listener, 'follow');
    let set = this.followers.get(key);
    if (set === undefined) {
      set = new Set();
      this.followers.set(key, set);
    }
    // Each follow is its own subscription, even with the same function twice.
    const own = (entry: LogEntry): void => listener(entry);
    set.add(own);
    return () => {
      const current = this.followers.get(key);
      if (current === undefined || !current.delete(own)) return;
      if (current.size === 0) this.followers.delete(key);
    };
  }

  async cancel(key: string): Promise<'cancelled' | 'ended' | 'unknown'> {
    checkStreamKey(key);
    const stored = this.streams.get(key);
    if (stored === undefined) return 'unknown';
    if (stored.ended) return 'ended';
    this.push(key, stored, endEntry({ type: 'error', reason: 'cancelled' }));
    for (const listener of [...this.cancelListeners]) listener(key);
    return 'cancelled';
  }

  onCancel(listener: (key: string) => void): () => void {
    checkListener(listener, 'onCancel');
    // Wrapped so that two subscriptions of one function are two.
    const own = (key: string): void => listener(key);
    this.cancelListeners.add(own);
    return () => {
      this.cancelListeners.delete(own);
    };
  }

  setReaders(key: string, present: boolean): void {
    const count = (this.readers.get(key) ?? 0) + (present ? 1 : -1);
    if (count > 0) this.readers.set(key, count);
    else this.readers.delete(key);
  }

  async hasReaders(key: string): Promise<boolean> {
    return this.readers.has(key);
  }

  async renew(streams: readonly ProducerLease[]): Promise<void> {
    checkLeases(streams);
    const until = Date.now() + this.producerLease;
    for (const { key, generation } of streams) {
      const stored = this.streams.get(key);
      if (stored !== undefined && stored.generation === generation && !stored.ended) stored.leaseUntil = until;
    }
  }

  async check(keys: readonly string[]): Promise<void> {
    checkStreamKeys(keys);
    const now = Date.now();
    for (const key of keys) {
      const stored = this.streams.get(key);
      // A stream gone before its end told its followers when the sweep removed it.
      if (stored !== undefined && !stored.ended && now >= stored.leaseUntil) this.push(key, stored, endEntry(LOST));
    }
  }

  close(): void {
    this.closed = true;
    this.stopSweep();
    this.streams.clear();
    this.tombstones.clear();
    this.followers.clear();
    this.cancelListeners.clear();
    this.readers.clear();
  }

  /** Appends an entry (a terminal one ends the stream), tells the followers and pushes the expiry back. */
  private push(key: string, stored: Stored, entry: LogAppend & { end?: StreamEnd | undefined }): number {
    const seq = stored.entries.length + 1;
    const logged: LogEntry = Object.freeze(
      entry.end === undefined
        ? { seq, event: entry.event, data: entry.data }
        : { seq, event: entry.event, data: entry.data, end: entry.end },
    );
    stored.entries.push(logged);
    if (logged.end !== undefined) stored.ended = true;
    stored.expiresAt = Date.now() + stored.limits.ttl;
    const set = this.followers.get(key);
    if (set !== undefined) for (const listener of [...set]) listener(logged);
    return seq;
  }

  /** Tells the followers of a stream gone before its end: a terminal `lost` entry the log never stored. */
  private lose(key: string, head: number): void {
    const set = this.followers.get(key);
    if (set === undefined) return;
    this.followers.delete(key);
    const entry: LogEntry = Object.freeze({ seq: head + 1, ...endEntry(LOST) });
    for (const listener of [...set]) listener(entry);
  }

  private sweepEvery(ttl: number): void {
    const wanted = Math.min(MAX_SWEEP, Math.max(MIN_SWEEP, Math.floor(ttl / 4)));
    if (this.timer !== undefined && wanted >= this.period) return;
    this.stopSweep();
    this.period = wanted;
    this.timer = setInterval(() => this.sweep(), wanted);
    this.timer.unref();
  }

  private stopSweep(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.period = MAX_SWEEP;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, forgetAt] of this.tombstones) if (now >= forgetAt) this.tombstones.delete(key);
    for (const [key, stored] of this.streams) {
      if (now < stored.expiresAt) continue;
      this.streams.delete(key);
      this.tombstones.set(key, now + this.tombstone);
      if (!stored.ended) this.lose(key, stored.entries.length);
    }
    if (this.streams.size === 0 && this.tombstones.size === 0) this.stopSweep();
  }
}

const LOST: StreamEnd = { type: 'error', reason: 'lost' };

function sizeOf(entry: LogAppend): number {
  return Buffer.byteLength(entry.data) + (entry.event === undefined ? 0 : Buffer.byteLength(entry.event));
}

function closedError(): SseError {
  return new SseError('SSE_HUB_CLOSED', 'This stream log is closed: it no longer accepts streams.');
}

/** Creates an in-memory stream log (what a hub uses when its broker has none). */
export function createMemoryStreamLog(options?: MemoryStreamLogOptions): MemoryStreamLog {
  return new MemoryStreamLog(options);
}
