import { clock } from './clock.js';

/**
 * Coalesces what one turn of the event loop writes to each connection into one write, and shares the bytes.
 *
 * Why: a broadcast loop of 100 events to 5,000 connections is 500,000 `res.write()` calls in a naive server, each
 * framing an HTTP chunk and corking the socket; that per-write JavaScript is where peers (and a raw `node:http`
 * server) spend their time, and they block the event loop for the whole loop. Here every frame enqueued during a turn
 * waits in its stream's `pending` list (references, no copies), and one `setImmediate` later the flusher writes each
 * stream's list as ONE buffer. Frames carry a process-wide sequence number: a stream whose pending frames are a
 * contiguous run of that sequence has the same bytes as every other stream with that run, so the concatenation is
 * built once and shared (a broadcast burst costs one `Buffer.concat`, not one per connection). The flush walks the
 * dirty streams in slices of a few milliseconds and yields between slices, so other requests are served meanwhile.
 */
export interface Flushable {
  /** Writes what is pending; `shared` returns the shared bytes for a contiguous run. */
  flushPending(shared: SharedRuns): void;
}

/** Shared concatenations for the current flush cycle, keyed by the first sequence number and the frame count. */
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

/**
 * The broadcasts of one hub that not every stream has taken yet. A broadcast is appended here once, whatever the
 * number of connections, instead of being queued on each stream while the app's publish call waits: each stream
 * takes the frames past its own cursor when it is flushed (in the time slices below) or before anything else is
 * queued for it (so the order of events is kept), and the hub drops frames once every stream has taken them.
 */
export class Lane {
  private frames: Buffer[] = [];
  private seqs: number[] = [];
  private ids: (string | undefined)[] = [];
  /** Absolute position of the oldest frame kept. */
  start = 0;

  /** Absolute position after the newest frame. */
  get end(): number {
    return this.start + this.frames.length;
  }

  append(frame: Buffer, seq: number, id: string | undefined): void {
    this.frames.push(frame);
    this.seqs.push(seq);
    this.ids.push(id);
  }

  frame(position: number): Buffer {
    return this.frames[position - this.start] as Buffer;
  }

  seq(position: number): number {
    return this.seqs[position - this.start] as number;
  }

  id(position: number): string | undefined {
    return this.ids[position - this.start];
  }

  /** Drops the frames before absolute position `until`. */
  trim(until: number): void {
    const count = Math.min(until - this.start, this.frames.length);
    if (count <= 0) return;
    if (count === this.frames.length) {
      this.frames = [];
      this.seqs = [];
      this.ids = [];
    } else {
      this.frames.splice(0, count);
      this.seqs.splice(0, count);
      this.ids.splice(0, count);
    }
    this.start += count;
  }
}

/** Longest a flush slice may hold the event loop before it yields, in ms. */
const SLICE_MS = 8;
/** How many streams to flush between two looks at the time. */
const CHECK_EVERY = 64;

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

  /** How many streams wait to be flushed (for stats and tests). */
  get backlog(): number {
    return this.queue.length - this.index;
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
