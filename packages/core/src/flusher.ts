import { clock } from './clock.js';

/**
 * Something the flusher writes once per turn of the event loop: a stream's writer, or the lane's trimmer.
 * See docs/architecture.md (the write path) for why writes are coalesced and shared.
 */
export interface Flushable {
  /** Writes what is pending; `shared` returns the shared bytes for a contiguous run. */
  flushPending(shared: SharedRuns): void;
}

/** Shared concatenations for the current flush cycle (package-internal: no entry point exports it), keyed by the first sequence number and the frame count. */
export class SharedRuns {
  private lastFirst = -1;
  private lastCount = -1;
  private lastBuffer: Buffer | undefined;
  private readonly others = new Map<string, Buffer>();

  get(first: number, frames: Buffer[], bytes: number): Buffer {
    const count = frames.length;
    if (first === this.lastFirst && count === this.lastCount && this.lastBuffer !== undefined) return this.lastBuffer;
    const key = `${first}:${count}`;
    let buffer = this.others.get(key);
    if (buffer === undefined) {
      buffer = Buffer.concat(frames, bytes);
      this.others.set(key, buffer);
    }
    this.lastFirst = first;
    this.lastCount = count;
    this.lastBuffer = buffer;
    return buffer;
  }

  clear(): void {
    this.lastFirst = -1;
    this.lastCount = -1;
    this.lastBuffer = undefined;
    this.others.clear();
  }
}

/** Longest a flush slice may hold the event loop before it yields, in ms. */
const SLICE_MS = 8;
/** How many streams to flush between two looks at the time. */
const CHECK_EVERY = 64;

/**
 * Coalesces what one turn of the event loop writes to each connection into one write: writers with pending frames
 * are marked, and one `setImmediate` later each writes its frames as one buffer, shared between writers whose
 * frames are the same run of the process-wide sequence. The walk yields every few ms.
 */
class Flusher {
  private queue: Flushable[] = [];
  private index = 0;
  private scheduled = false;
  private readonly runs = new SharedRuns();
  private sequence = 0;

  /** The next frame sequence number. */
  next(): number {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    return this.sequence;
  }

  /** Queues a stream that has pending frames; it is flushed once, on the next slice. */
  mark(stream: Flushable): void {
    this.queue.push(stream);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    // Streams stamp their writes with the coarse clock; without a refresh here that stamp could be up to a clock
    // period old, and an idle-check would send a heartbeat that much too early after data.
    clock.refresh();
    const started = performance.now();
    const queue = this.queue;
    while (this.index < queue.length) {
      const stream = queue[this.index++] as Flushable;
      stream.flushPending(this.runs);
      if (this.index % CHECK_EVERY === 0 && performance.now() - started > SLICE_MS) {
        setImmediate(this.run);
        return;
      }
    }
    this.queue = [];
    this.index = 0;
    this.runs.clear();
    this.scheduled = false;
  };
}

/** The process-wide flusher shared by every stream. */
export const flusher = new Flusher();
