import type { LogEntry } from '@ssekit/core/broker';
import { decodeEntry, terminalEntry } from './stream-log-codec.js';

/** Where a stream stood when a follower started, and a full read from a position. */
export interface FollowSource {
  /** The stream's generation and entry count now (undefined: no such stream), asked before anything else is sent. */
  position(): Promise<{ generation: string | undefined; count: number }>;
  /** Every entry after `after` (all pages), with the generation they belong to. */
  read(after: number): Promise<{ generation: string; entries: LogEntry[] } | undefined>;
  report(message: string, error: unknown): void;
}

// Rounds of "read, then a message shows a gap again" one catch-up may take before it waits for the next tick.
const MAX_ROUNDS = 5;

/**
 * The entries of one stream, for every local listener of it: live ones from pub/sub, and whatever pub/sub missed
 * (before the subscription was in place, while the connection was down) read from the list. Entries go to the
 * listeners once each, in `seq` order, without a gap: a message whose `seq` is not the next one starts a catch-up
 * read, and messages that arrive meanwhile wait for it.
 *
 * When the stream turns out to be gone before its terminal entry (expired, recreated, Redis lost its data), the
 * listeners get a terminal `lost` entry, which the log never stored, so that no reader waits for ever.
 */
export class Follower {
  readonly listeners = new Set<(entry: LogEntry) => void>();
  /** A catch-up failed (Redis unreachable): the broker's timer retries it. */
  needsSync = false;
  private last: number | undefined;
  private generation: string | undefined;
  private readonly started: Promise<void>;
  private pending: { seq: number; generation: string; text: string }[] = [];
  private syncing = false;
  private again = false;
  private ended = false;
  private stopped = false;

  constructor(private readonly source: FollowSource) {
    // Sent now, before the reader's own read: every entry after this position is delivered, so none that the
    // reader's read missed can be lost while the subscription is being set up.
    this.started = source.position().then(
      (position) => {
        this.last ??= position.count;
        this.generation ??= position.generation;
      },
      () => {
        // Position unknown: deliver from the first entry; readers drop what they have by seq.
        this.last ??= 0;
      },
    );
  }

  /** A pub/sub message: `<seq> <generation> <entry>`. */
  message(text: string): void {
    if (this.ended || this.stopped) return;
    const parsed = parseMessage(text);
    if (parsed === undefined) {
      this.source.report('[ssekit] ignored a malformed resumable-stream message.', new Error(text.slice(0, 80)));
      return;
    }
    if (this.last === undefined || this.syncing) {
      this.pending.push(parsed);
      return;
    }
    if (!this.take(parsed)) {
      this.pending.push(parsed);
      this.sync();
    }
  }

  /** Catches up from the list: after (re)subscribing, after a gap, and from the timer after a failed attempt. */
  sync(): void {
    if (this.ended || this.stopped) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    this.catchUp().then(
      () => {
        this.needsSync = false;
        this.syncing = false;
      },
      () => {
        // Redis is unreachable (the connection reports that); the pending messages wait for the next attempt.
        this.needsSync = true;
        this.syncing = false;
      },
    );
  }

  /** Stops delivering: the last listener left. */
  stop(): void {
    this.stopped = true;
    this.pending = [];
    this.listeners.clear();
  }

  private async catchUp(): Promise<void> {
    await this.started;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      this.again = false;
      if (this.ended || this.stopped) return;
      const from = this.last ?? 0;
      const result = await this.source.read(from);
      if (this.stopped) return;
      if (result === undefined || (this.generation !== undefined && result.generation !== this.generation)) {
        // Gone (or replaced by a new stream of the same key) before its end.
        if (this.generation !== undefined || from > 0) this.lose();
        else this.pending = [];
        return;
      }
      this.generation = result.generation;
      for (const entry of result.entries) {
        if (entry.seq === (this.last ?? 0) + 1) this.deliver(entry);
      }
      const waiting = this.pending.sort((a, b) => a.seq - b.seq);
      this.pending = [];
      for (let i = 0; i < waiting.length; i++) {
        const message = waiting[i] as (typeof waiting)[number];
        if (!this.take(message)) {
          this.pending = waiting.slice(i);
          this.again = true;
          break;
        }
      }
      if (!this.again) return;
    }
    throw new Error('the stream kept showing gaps');
  }

  /** Delivers `message` when it is the next entry, drops it when it is old; false when it shows a gap. */
  private take(message: { seq: number; generation: string; text: string }): boolean {
    const last = this.last ?? 0;
    if (this.generation !== undefined && message.generation !== this.generation) return false;
    if (message.seq <= last) return true;
    if (message.seq !== last + 1) return false;
    this.generation = message.generation;
    let entry: LogEntry;
    try {
      entry = decodeEntry(message.seq, message.text);
    } catch (error) {
      // Not ours to deliver; the next message shows a gap, and the catch-up read reports the entry again.
      this.source.report('[ssekit] ignored a malformed resumable-stream message.', error);
      return true;
    }
    this.deliver(entry);
    return true;
  }

  private deliver(entry: LogEntry): void {
    if (this.ended) return;
    this.last = entry.seq;
    if (entry.end !== undefined) {
      this.ended = true;
      this.pending = [];
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(entry);
      } catch (error) {
        this.source.report('[ssekit] a resumable-stream listener threw.', error);
      }
    }
  }

  private lose(): void {
    this.deliver({ seq: (this.last ?? 0) + 1, ...terminalEntry('lost') });
  }
}

function parseMessage(text: string): { seq: number; generation: string; text: string } | undefined {
  const first = text.indexOf(' ');
  const second = first < 0 ? -1 : text.indexOf(' ', first + 1);
  if (second < 0) return undefined;
  const seq = Number(text.slice(0, first));
  if (!Number.isSafeInteger(seq) || seq <= 0) return undefined;
  return { seq, generation: text.slice(first + 1, second), text: text.slice(second + 1) };
}
