import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clock } from './clock.js';
import { closeSocketWhenFinished } from './close-connection.js';
import { SseTypeError } from './errors.js';
import { type Flushable, flusher, type SharedRuns } from './flusher.js';
import type { StreamOwner } from './hub-owner.js';
import type { Lane, LaneMember } from './lane.js';
import { flushOf, isGone } from './response-state.js';
import type { CloseReason, SseResponse, SseStream } from './stream.js';
import { isOverLimit, socketBuffered } from './write-limit.js';

const HEARTBEAT = Buffer.from(':\n\n');

// The writer of each stream. Reached by the hub, resume, pipe and the adapter entry through `writerOf`, which the
// package entry points do not export: the stream's public surface stays the app's.
const writers = new WeakMap<SseStream, Writer>();

/** The writer of a stream. Throws for anything that is not an `SseStream`. */
export function writerOf(stream: SseStream): Writer {
  const writer = writers.get(stream);
  if (writer === undefined) {
    throw new SseTypeError('SSE_NO_STREAM', 'Expected an SseStream from createStream() (or an adapter).');
  }
  return writer;
}

/**
 * The queue and write machinery of one stream: frames wait in `pending` (references to shared buffers, never
 * copies) until the flusher writes them as one buffer; while a `Last-Event-ID` replay runs, live frames wait in
 * `held`; a write the socket refused marks the writer congested until `drain`; too many bytes waiting end the
 * stream as a slow consumer (see {@link Writer.overLimit} for the rule).
 *
 * Frames enter through {@link Writer.enqueue} (the stream's own events and the hub's targeted ones),
 * {@link Writer.accept} (the hub's broadcast lane) and {@link Writer.queueFrame} (a replay, past the hold).
 * Broadcasts still in the lane were published before anything queued now, so every entry that looks at or adds to
 * the queue takes them first, through {@link Writer.takeLane}: the one place the lane's frames come in.
 */
export class Writer implements Flushable, LaneMember {
  /** The hub that registered the stream, if any. */
  owner: StreamOwner | undefined;
  laneCursor = 0;
  /** Coarse time of the last write, for heartbeats. */
  lastWriteAt: number;
  private lane: Lane | undefined;
  // The HTTP/1 socket, to send each flush at once (see rawWrite); undefined on HTTP/2.
  private socket: Socket | undefined;
  // compression()'s flush, or null when the response has none; read at the first write rather than on every one:
  // each read costs on Express 5, whose responses each have a hidden class of their own (see
  // bench/src/tools/express-maps.ts).
  private flush: (() => void) | null | undefined;
  private closed = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  // The largest frame in `pending`, in `held`, and in the last write while the socket has not drained it: one event
  // larger than the limit is admitted whole (see overLimit).
  private pendingLargest = 0;
  private heldLargest = 0;
  private inFlightLargest = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private contiguous = true;
  private marked = false;
  private congested = false;
  private held: { frame: Buffer; id: string | undefined }[] | undefined;
  private heldBytes = 0;
  private drainWaiters: (() => void)[] | undefined;
  // The `drain` listener, made the first time the socket refuses a write: most connections never need one.
  private onDrain: (() => void) | undefined;

  constructor(
    private readonly stream: SseStream,
    private readonly res: SseResponse,
    /** The stream's `maxBufferedBytes`. */
    readonly maxBufferedBytes: number,
    /** The `retry` hint the stream sends when the server ends it for `timeout` or `shutdown`. */
    readonly closeRetry: number,
  ) {
    this.lastWriteAt = clock.refresh();
    writers.set(stream, this);
  }

  /** Ends the stream (slow consumer, a write that threw); the hub and adapters end it through here too. */
  end(reason: CloseReason, error?: unknown, retryHint?: number): void {
    this.stream.endWith(reason, error, retryHint);
  }

  /** Starts writing on an opened response (`socket`: the HTTP/1 socket, undefined on HTTP/2). */
  open(socket: Socket | undefined): void {
    this.socket = socket;
  }

  /** Joins a hub: its hooks, and its broadcast lane from the lane's current end. */
  attach(owner: StreamOwner, lane: Lane): void {
    this.owner = owner;
    this.lane = lane;
    this.laneCursor = lane.end;
  }

  /** A frame from the hub (shared bytes) or from the stream's own `send`; held during a replay. */
  enqueue(frame: Buffer, seq: number, id: string | undefined): void {
    this.takeLane();
    this.accept(frame, seq, id);
  }

  /** `enqueue` without taking the lane first: how the lane itself hands over its frames. */
  accept(frame: Buffer, seq: number, id: string | undefined): void {
    if (this.closed) return;
    if (this.held !== undefined) {
      this.held.push({ frame, id });
      this.heldBytes += frame.length;
      if (frame.length > this.heldLargest) this.heldLargest = frame.length;
      if (this.heldBytes - this.heldLargest > this.maxBufferedBytes) this.end('slow-consumer');
      return;
    }
    this.queueFrame(frame, seq);
  }

  /** Queues a frame for the next flush, past any hold (the replay itself uses this). */
  queueFrame(frame: Buffer, seq: number): void {
    if (this.closed) return;
    const pending = this.pending;
    if (pending.length === 0) {
      this.firstSeq = seq;
      this.contiguous = true;
    } else if (seq !== this.lastSeq + 1) {
      this.contiguous = false;
    }
    this.lastSeq = seq;
    pending.push(frame);
    this.pendingBytes += frame.length;
    if (frame.length > this.pendingLargest) this.pendingLargest = frame.length;
    if (this.congested) {
      if (this.overLimit()) this.end('slow-consumer');
      return;
    }
    this.markForFlush();
  }

  /** Starts holding live frames while a replay is written. */
  hold(): void {
    if (!this.closed && this.held === undefined) this.held = [];
  }

  /** Ends the hold: queues held frames, skipping those whose id the replay already sent. */
  releaseHeld(replayed: ReadonlySet<string> | undefined): void {
    if (this.held === undefined) return;
    // Broadcasts from the lane arrived during the replay too: they are held (and de-duplicated) like the others.
    this.takeLane();
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    this.heldBytes = 0;
    this.heldLargest = 0;
    for (const { frame, id } of held) {
      if (id !== undefined && replayed?.has(id)) continue;
      this.accept(frame, flusher.next(), id);
    }
  }

  /** Queues this writer for the next flush (the lane does so for the broadcasts it keeps). */
  markForFlush(): void {
    if (this.closed || this.marked) return;
    this.marked = true;
    flusher.mark(this);
  }

  /** Writes what is pending as one buffer (shared between streams with the same run of frames). */
  flushPending(shared: SharedRuns): void {
    // Taken while still marked, so that the frames taken do not queue this writer a second time.
    this.takeLane();
    this.marked = false;
    const pending = this.pending;
    if (this.closed || this.congested || pending.length === 0) return;
    let buffer: Buffer;
    if (pending.length === 1) buffer = pending[0] as Buffer;
    else if (this.contiguous) buffer = shared.get(this.firstSeq, pending, this.pendingBytes);
    else buffer = Buffer.concat(pending, this.pendingBytes);
    this.inFlightLargest = this.pendingLargest;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingLargest = 0;
    this.write(buffer);
  }

  /** Writes a frame at once, ahead of the queue: the `retry` line of the head. */
  writeNow(frame: Buffer): void {
    this.write(frame);
  }

  /** Sends a heartbeat comment unless data is waiting (the connection is not idle then). */
  heartbeat(): void {
    if (this.closed || this.congested || this.pending.length > 0) return;
    // Broadcasts not taken yet are waiting data too (unless a replay holds them back, as it would once taken).
    if (this.held === undefined && this.lane?.behind(this)) return;
    this.write(HEARTBEAT);
    this.owner?.heartbeat();
  }

  /** True when a producer (`pipe()`) should wait for `drained()` before it sends more. */
  get saturated(): boolean {
    return this.congested || this.pendingBytes > this.maxBufferedBytes / 2;
  }

  /** Bytes accepted but not yet taken by the network. */
  get bufferedBytes(): number {
    this.takeLane();
    return this.pendingBytes + this.heldBytes + socketBuffered(this.res);
  }

  /** Resolves when everything queued has been handed to the socket, or the writer is closed. */
  drained(): Promise<void> {
    this.takeLane();
    if (this.closed || (!this.congested && this.pendingBytes === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters ??= [];
      this.drainWaiters.push(resolve);
    });
  }

  /**
   * Takes the broadcasts published before the end: they are the stream's pending events too. Taking them may end
   * the stream (a slow consumer), which the caller checks.
   */
  takeLastBroadcasts(): void {
    this.takeLane();
  }

  /**
   * The writer's part of the end: writes what is pending (with a last `retry` hint when given) if `graceful` and the
   * client is still there, else counts it as dropped; then ends the response (destroys it for a slow consumer) and
   * wakes `drained()` waiters.
   */
  close(reason: CloseReason, graceful: boolean, retryHint: number | undefined): void {
    this.closed = true;
    const res = this.res;
    if (this.onDrain !== undefined) res.off('drain', this.onDrain);
    // Frames held behind an unfinished replay are dropped, never written: writing them would move the client's
    // cursor past the events the replay had not sent yet. The client reconnects and gets them all from history.
    let dropped = this.pending.length + (this.held?.length ?? 0);
    const open = !isGone(res);
    if (graceful && open) {
      if (retryHint !== undefined) this.pending.push(Buffer.from(`retry: ${retryHint}\n\n`));
      if (this.pending.length > 0) {
        dropped = 0;
        this.rawWrite(Buffer.concat(this.pending));
      }
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingLargest = 0;
    this.held = undefined;
    this.heldBytes = 0;
    this.heldLargest = 0;
    if (dropped > 0) this.owner?.account(0, dropped);
    if (open) {
      try {
        if (reason === 'slow-consumer') res.destroy();
        else res.end();
        // The connection goes too, so that the server is not kept waiting on an idle keep-alive socket (see
        // close-connection.ts).
        if (reason === 'shutdown' && this.socket !== undefined) closeSocketWhenFinished(this.socket, res);
      } catch {
        // A response torn down underneath us is already as ended as it gets.
      }
    }
  }

  /** Wakes every `drained()` waiter (the stream has ended). */
  wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    if (waiters) for (const wake of waiters) wake();
  }

  /** True when the client costs more than `maxBufferedBytes` plus one event: see {@link isOverLimit} for the rule. */
  private overLimit(): boolean {
    const socket = socketBuffered(this.res);
    return isOverLimit(socket, this.inFlightLargest, this.pendingBytes, this.pendingLargest, this.maxBufferedBytes);
  }

  // The one place the lane's frames enter this writer.
  private takeLane(): void {
    this.lane?.catchUp(this);
  }

  private write(buffer: Buffer): void {
    const ok = this.rawWrite(buffer);
    if (this.closed) return;
    if (!ok) {
      this.congested = true;
      this.onDrain ??= () => this.drainedSocket();
      this.res.once('drain', this.onDrain);
      if (this.overLimit()) this.end('slow-consumer');
    } else if (this.drainWaiters !== undefined && this.pending.length === 0) {
      this.wakeDrainWaiters();
    }
  }

  private rawWrite(buffer: Buffer): boolean {
    const res = this.res;
    if (isGone(res)) return true;
    this.lastWriteAt = clock.now;
    let ok: boolean;
    const socket = this.socket;
    try {
      // Corked, node:http's chunked encoding (size line, data, CRLF) leaves in one writev. Uncorked at once, not at
      // node's next tick: the cost of the send (the syscall, most of a flush) falls inside the flusher's time slice,
      // so a burst to thousands of connections yields every few ms instead of sending everything after the slice.
      // (Uncorking right after a write node corked itself sends the parts as separate writes on Node 24.)
      socket?.cork();
      ok = (res as ServerResponse).write(buffer);
      // compression() adds flush(): without it, events would sit in the gzip buffer.
      if (this.flush === undefined) this.flush = flushOf(res);
      if (this.flush !== null) this.flush.call(res);
    } catch (error) {
      this.end('error', error);
      return true;
    } finally {
      socket?.uncork();
    }
    this.owner?.account(buffer.length, 0);
    return ok;
  }

  private drainedSocket(): void {
    this.congested = false;
    this.inFlightLargest = 0;
    if (this.closed) return;
    if (this.pending.length > 0) this.markForFlush();
    else this.wakeDrainWaiters();
  }
}
