import { type Envelope, matches, type ReplayFilter, type ReplayResult } from './broker-contract.js';
import { SseRangeError } from './errors.js';
import { assertKnownOptions, describe } from './validate.js';

/** How much history an in-memory broker keeps for `Last-Event-ID` resume. */
export interface HistoryOptions {
  /** How many events to keep (a ring buffer). Default 1000. */
  size?: number;
  /** Drop events older than this many milliseconds as well. Default: no age limit. */
  maxAge?: number;
}

/** Default number of events kept for resume. */
export const DEFAULT_HISTORY_SIZE = 1000;

/**
 * A bounded, ordered log of envelopes with an index by id. Appends and lookups are O(1); a replay is O(events after
 * the id). Memory is bounded by `size` envelopes.
 */
export class History {
  readonly size: number;
  readonly maxAge: number | undefined;
  private readonly ring: (Envelope | undefined)[];
  private readonly times: number[];
  private readonly index = new Map<string, number>();
  // Absolute positions: `start` is the oldest kept, `end` the next to write.
  private start = 0;
  private end = 0;

  constructor(options: HistoryOptions = {}) {
    assertKnownOptions('history', options, ['size', 'maxAge']);
    const size = options.size ?? DEFAULT_HISTORY_SIZE;
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new SseRangeError(
        'SSE_INVALID_OPTION',
        `History \`size\` must be a positive whole number, got ${describe(size)}.`,
      );
    }
    const maxAge = options.maxAge;
    if (maxAge !== undefined && (!Number.isSafeInteger(maxAge) || maxAge < 1)) {
      throw new SseRangeError(
        'SSE_INVALID_OPTION',
        `History \`maxAge\` must be a positive whole number of milliseconds, got ${describe(maxAge)}.`,
      );
    }
    this.size = size;
    this.maxAge = maxAge;
    this.ring = new Array(size);
    this.times = new Array(size).fill(0);
  }

  /** Number of events currently kept. */
  get length(): number {
    return this.end - this.start;
  }

  /** The newest id, if any. */
  get head(): string | undefined {
    return this.end > this.start ? this.ring[(this.end - 1) % this.size]?.id : undefined;
  }

  append(envelope: Envelope, now = Date.now()): void {
    if (this.end - this.start === this.size) this.evictOldest();
    const slot = this.end % this.size;
    this.ring[slot] = envelope;
    this.times[slot] = now;
    this.index.set(envelope.id, this.end);
    this.end++;
  }

  /**
   * The events after `lastEventId` that match `filter`, oldest first; or a gap when the id is not in history.
   * `isOlder(id)` lets the caller tell an expired id (one it issued long ago) from one it never issued.
   */
  after(lastEventId: string, filter: ReplayFilter, isOlder?: (id: string) => boolean, now = Date.now()): ReplayResult {
    this.expire(now);
    const position = this.index.get(lastEventId);
    if (position === undefined) {
      return { ok: false, reason: isOlder?.(lastEventId) ? 'expired' : 'unknown-id', head: this.head };
    }
    const events: Envelope[] = [];
    for (let p = position + 1; p < this.end; p++) {
      const envelope = this.ring[p % this.size] as Envelope;
      if (matches(envelope.target, filter)) events.push(envelope);
    }
    return { ok: true, events };
  }

  private expire(now: number): void {
    if (this.maxAge === undefined) return;
    // Keep the newest event even when old: it is the cursor a reconnecting client most likely holds.
    while (this.end - this.start > 1 && now - (this.times[this.start % this.size] as number) > this.maxAge)
      this.evictOldest();
  }

  private evictOldest(): void {
    const slot = this.start % this.size;
    const old = this.ring[slot];
    if (old !== undefined && this.index.get(old.id) === this.start) this.index.delete(old.id);
    this.ring[slot] = undefined;
    this.start++;
  }
}
