import { flusher } from './flusher.js';
import { formatData } from './frame.js';
import type { SseStream } from './stream.js';
import type { LogEntry, StreamLog } from './stream-log-contract.js';
import { writerOf } from './writer.js';

// The frame of each entry, built once: readers of the in-memory log share the entry objects, so they share bytes.
const frames = new WeakMap<LogEntry, Buffer>();

function frameOf(entry: LogEntry): Buffer {
  let frame = frames.get(entry);
  if (frame === undefined) {
    frame = Buffer.from(formatData(entry.data, entry.event, String(entry.seq), undefined));
    frames.set(entry, frame);
  }
  return frame;
}

/**
 * Reads one resumable stream's log into one SSE stream, from a position: follows the log first, then reads it, and
 * writes every entry once, in `seq` order, each with `id: <seq>`; ends the stream (reason `server`) after the
 * terminal entry.
 *
 * While it catches up (the backlog of a resume, or entries it missed) it writes at the client's pace and keeps
 * what arrives meanwhile, up to `maxBufferedBytes`; past that it forgets them and reads them again from the log.
 * Once caught up, entries are written as they come and the stream's own limit cuts a client that stops reading
 * (reason `slow-consumer`), which can resume.
 */
export class LogReader {
  private nextSeq: number;
  private queue: LogEntry[] = [];
  private queuedBytes = 0;
  private overflow = false;
  private live = false;
  private stream: SseStream | undefined;
  private unfollow: (() => void) | undefined;

  /** Starts following at once, so nothing appended from now on is missed. */
  constructor(
    private readonly log: StreamLog,
    private readonly key: string,
    after: number,
  ) {
    this.nextSeq = after + 1;
    this.unfollow = log.follow(key, (entry) => this.onEntry(entry));
  }

  /** Writes `backlog` (what a read after the position returned), then what follows. */
  serve(stream: SseStream, backlog: readonly LogEntry[]): void {
    this.stream = stream;
    stream.once('close', () => this.close());
    if (stream.closed) return;
    void this.catchUp(backlog);
  }

  /** Stops following. Idempotent. */
  close(): void {
    this.unfollow?.();
    this.unfollow = undefined;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private onEntry(entry: LogEntry): void {
    if (entry.seq < this.nextSeq || this.unfollow === undefined) return;
    const stream = this.stream;
    if (!this.live || stream === undefined) {
      this.keep(entry);
      return;
    }
    if (entry.seq > this.nextSeq) {
      // A gap (a store that lost a notification): read the missing entries from the log.
      this.live = false;
      this.keep(entry);
      void this.catchUp([]);
      return;
    }
    this.write(stream, entry);
  }

  private keep(entry: LogEntry): void {
    if (this.overflow) return;
    const limit = this.stream?.maxBufferedBytes ?? Number.POSITIVE_INFINITY;
    this.queuedBytes += frameOf(entry).length;
    if (this.queuedBytes > limit) {
      this.overflow = true;
      this.queue = [];
      this.queuedBytes = 0;
      return;
    }
    this.queue.push(entry);
  }

  private async catchUp(backlog: readonly LogEntry[]): Promise<void> {
    const stream = this.stream as SseStream;
    try {
      let batch = backlog;
      for (;;) {
        if (!(await this.writePaced(stream, batch))) return;
        if (this.overflow || (this.queue.length > 0 && (this.queue[0] as LogEntry).seq > this.nextSeq)) {
          this.overflow = false;
          this.queue = [];
          this.queuedBytes = 0;
          const read = await this.log.read(this.key, this.nextSeq - 1);
          if (stream.closed) return;
          if (read.status !== 'ok') {
            // Expired under the reader: it cannot go on; the client's resume gets the 410.
            writerOf(stream).end('server');
            return;
          }
          batch = read.entries;
          continue;
        }
        if (this.queue.length === 0) break;
        batch = this.queue;
        this.queue = [];
        this.queuedBytes = 0;
      }
      this.live = true;
    } catch {
      // The store failed: end the response; the client resumes from its last id.
      writerOf(stream).end('error');
    }
  }

  /** Writes entries at the client's pace; false once the stream is over. */
  private async writePaced(stream: SseStream, entries: readonly LogEntry[]): Promise<boolean> {
    const limit = stream.maxBufferedBytes / 2;
    for (const entry of entries) {
      if (stream.closed || this.unfollow === undefined) return false;
      if (entry.seq !== this.nextSeq) {
        if (entry.seq < this.nextSeq) continue;
        // Entries missing in between: the caller reads them from the log.
        this.overflow = true;
        return true;
      }
      this.write(stream, entry);
      if (stream.bufferedBytes > limit) await stream.drained();
    }
    return !stream.closed && this.unfollow !== undefined;
  }

  private write(stream: SseStream, entry: LogEntry): void {
    const writer = writerOf(stream);
    writer.enqueue(frameOf(entry), flusher.next(), undefined);
    this.nextSeq = entry.seq + 1;
    if (entry.end !== undefined) {
      this.close();
      writer.end('server');
    }
  }
}
