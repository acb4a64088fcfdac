import { SseError } from './errors.js';
import { LogReader } from './log-reader.js';
import { ProducerRun, type RunOptions } from './producer.js';
import type { Registry } from './registry.js';
import { assertStreamKey, expiredStream, forbiddenStream, unknownStream } from './resumable-protocol.js';
import type { SseStream } from './stream.js';
import type { LogEntry, StreamLog, StreamLogLimits } from './stream-log-contract.js';
import { writerOf } from './writer.js';

const MIN_CHECK = 10;
const MAX_CHECK = 1000;

/** A producer this instance runs, with its grace period. */
interface Produced {
  readonly run: ProducerRun;
  readonly grace: number;
  /** When no reader anywhere was first seen (this instance's readers gone, or the store said none); else undefined. */
  absentSince: number | undefined;
  checking: boolean;
}

/**
 * The resumable streams of one hub: the producers it runs (once per key, fenced by the log), its readers, the
 * grace period of producers nobody reads, and cancels from any instance (the log's `onCancel`).
 *
 * One unref'd timer checks every producer without a local reader, every quarter of the shortest grace (10 ms to
 * 1 s), asking the log whether another instance has one; a producer unread for `grace` is stopped (`abandoned`).
 * Every third of the log's `producerLease` it also renews the leases of all this hub's producers (one call) and
 * has the log check the streams this hub reads (one call), so that a stream whose producer's instance died, or
 * that expired under its readers, ends for them with `lost`. It runs only while this hub produces or reads something.
 */
export class Resumables {
  private readonly produced = new Map<string, Produced>();
  private readonly localReaders = new Map<string, number>();
  private readonly readerStreams = new Set<SseStream>();
  private readonly stopCancels: () => void;
  private timer: NodeJS.Timeout | undefined;
  private period = MAX_CHECK;
  private leasedAt = 0;
  private leasing = false;
  private closing: Promise<void> | undefined;

  constructor(
    /** The store: the broker's `streams`, or the hub's own in-memory log. */
    readonly log: StreamLog,
    /** True when the hub made the log and closes it itself (a broker closes its own). */
    private readonly ownsLog: boolean,
    /** The hub's connections: readers count there (stats, metrics, limits). */
    private readonly registry?: Registry,
  ) {
    this.stopCancels = log.onCancel((key) => {
      void this.produced.get(key)?.run.stop('cancelled');
    });
  }

  /**
   * Creates a stream in the log and appends its first entry; this instance then runs its producer.
   * @throws SseError `SSE_STREAM_EXISTS` (409) when the key is taken; the store's errors.
   */
  async create(
    key: string,
    owner: string | undefined,
    limits: StreamLogLimits,
    grace: number,
    options: RunOptions,
  ): Promise<ProducerRun> {
    this.assertOpen();
    const created = await this.log.create(key, owner, limits);
    if (!created.ok) {
      throw new SseError(
        'SSE_STREAM_EXISTS',
        'A resumable stream with this key exists already: resume it with the Ssekit-Stream-Key header, or use another key.',
        { statusCode: 409 },
      );
    }
    const run = new ProducerRun(key, created.generation, this.log, options, (ended) => this.forget(ended));
    const produced: Produced = { run, grace, absentSince: Date.now(), checking: false };
    this.produced.set(key, produced);
    this.checkEvery(grace);
    await run.open();
    return run;
  }

  /**
   * Follows a stream from `after` and reads its backlog, checking the request may: 404 unknown, 410 expired, 403
   * for another owner, 400 for a position the stream never reached.
   * @returns the reader (following) and the entries to write first. The caller serves or closes the reader.
   */
  async openReader(
    key: string,
    owner: string | undefined,
    after: number,
  ): Promise<{ reader: LogReader; backlog: readonly LogEntry[] }> {
    this.assertOpen();
    const reader = new LogReader(this.log, key, after);
    try {
      const read = await this.log.read(key, after);
      if (read.status !== 'ok') throw read.status === 'expired' ? expiredStream() : unknownStream();
      if (read.owner !== owner) throw forbiddenStream();
      if (after > read.head) {
        throw new SseError('SSE_INVALID_STREAM_REQUEST', 'Last-Event-ID is past the last event of this stream.', {
          statusCode: 400,
        });
      }
      return { reader, backlog: read.entries };
    } catch (error) {
      reader.close();
      throw error;
    }
  }

  /** Checks a cancel may go ahead (404, 410, 403 as for a read). */
  async authorize(key: string, owner: string | undefined): Promise<void> {
    const { reader } = await this.openReader(key, owner, 0);
    reader.close();
  }

  /** Serves an opened reader on a stream, counting it as a reader of its key (for the producers' grace). */
  serve(stream: SseStream, key: string, reader: LogReader, backlog: readonly LogEntry[]): void {
    this.readerStreams.add(stream);
    this.registry?.addReader(stream);
    this.checkEvery(Number.POSITIVE_INFINITY);
    const count = (this.localReaders.get(key) ?? 0) + 1;
    this.localReaders.set(key, count);
    if (count === 1) this.log.setReaders(key, true);
    const produced = this.produced.get(key);
    if (produced !== undefined) produced.absentSince = undefined;
    stream.once('close', () => {
      this.readerStreams.delete(stream);
      this.registry?.removeReader(stream);
      const left = (this.localReaders.get(key) ?? 1) - 1;
      if (left > 0) {
        this.localReaders.set(key, left);
        return;
      }
      this.localReaders.delete(key);
      this.log.setReaders(key, false);
      const mine = this.produced.get(key);
      if (mine !== undefined) mine.absentSince = Date.now();
      this.stopTimerWhenIdle();
    });
    reader.serve(stream, backlog);
  }

  /**
   * Cancels a stream from any instance: its log gets the terminal `cancelled` entry and its producer's signal
   * aborts (here at once; elsewhere when the store's notification arrives).
   */
  cancel(key: string): Promise<'cancelled' | 'ended' | 'unknown'> {
    assertStreamKey(key);
    this.assertOpen();
    return this.cancelNow(key);
  }

  private async cancelNow(key: string): Promise<'cancelled' | 'ended' | 'unknown'> {
    const result = await this.log.cancel(key);
    // The store tells every instance, this one included; stopping here too does not wait for the notification.
    if (result === 'cancelled') void this.produced.get(key)?.run.stop('cancelled');
    return result;
  }

  /**
   * Stops every producer of this hub (terminal `lost`: nobody can continue them), ends its readers (reason
   * `shutdown`), stops the timer, and closes the log when the hub made it. Never rejects.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopTimer();
    this.stopCancels();
    const stops = [...this.produced.values()].map(({ run }) => run.stop('lost'));
    for (const stream of [...this.readerStreams]) writerOf(stream).end('shutdown');
    await Promise.allSettled(stops);
    if (this.ownsLog) {
      try {
        await this.log.close();
      } catch {
        // The hub is closing: a log that fails to close has nothing left to lose.
      }
    }
  }

  private assertOpen(): void {
    if (this.closing !== undefined) {
      throw new SseError('SSE_HUB_CLOSED', 'This hub is closed: it no longer serves resumable streams.');
    }
  }

  private forget(run: ProducerRun): void {
    if (this.produced.get(run.key)?.run === run) this.produced.delete(run.key);
    this.stopTimerWhenIdle();
  }

  private stopTimerWhenIdle(): void {
    if (this.produced.size === 0 && this.localReaders.size === 0) this.stopTimer();
  }

  /** How often leases are renewed and read streams checked: a third of the log's producer lease. */
  private get leaseEvery(): number {
    return Math.max(MIN_CHECK, Math.floor(this.log.producerLease / 3));
  }

  private checkEvery(grace: number): void {
    const wanted = Math.min(MAX_CHECK, Math.max(MIN_CHECK, Math.floor(grace / 4)), this.leaseEvery);
    if (this.timer !== undefined && wanted >= this.period) return;
    this.stopTimer();
    this.period = wanted;
    this.timer = setInterval(() => this.check(), wanted);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.period = MAX_CHECK;
  }

  /** Renews this hub's producer leases and checks the streams it reads, every third of the lease. */
  private lease(now: number): void {
    // Half a tick early rather than a tick late: with a timer as slow as the renewal period, a strict comparison
    // would skip every other tick and leave a lease two thirds gone before it is renewed.
    if (this.leasing || now - this.leasedAt < this.leaseEvery - this.period / 2) return;
    this.leasedAt = now;
    const running = [...this.produced.values()]
      .filter(({ run }) => run.ended === undefined)
      .map(({ run }) => ({ key: run.key, generation: run.generation }));
    const read = [...this.localReaders.keys()].filter((key) => !this.produced.has(key));
    if (running.length === 0 && read.length === 0) return;
    this.leasing = true;
    // The store reports its own failures (a connection down); the next round retries.
    Promise.allSettled([
      running.length > 0 ? this.log.renew(running) : undefined,
      read.length > 0 ? this.log.check(read) : undefined,
    ]).then(() => {
      this.leasing = false;
    });
  }

  /** Stops the producers nobody has read for their grace period, asking the log about other instances' readers. */
  private check(): void {
    const now = Date.now();
    this.lease(now);
    for (const produced of this.produced.values()) {
      if (produced.checking || (this.localReaders.get(produced.run.key) ?? 0) > 0) continue;
      produced.checking = true;
      this.log.hasReaders(produced.run.key).then(
        (present) => {
          produced.checking = false;
          if (present) {
            produced.absentSince = undefined;
            return;
          }
          produced.absentSince ??= now;
          if (Date.now() - produced.absentSince >= produced.grace) void produced.run.stop('abandoned');
        },
        () => {
          // The store cannot say: keep the producer (a reader may be there); asked again next time.
          produced.checking = false;
        },
      );
    }
  }
}

// Each hub's resumable streams: reached by the route code without a public member on the hub.
const byHub = new WeakMap<object, Resumables>();

/** Records a hub's {@link Resumables}. */
export function setResumables(hub: object, resumables: Resumables): void {
  byHub.set(hub, resumables);
}

/** The {@link Resumables} of a hub. */
export function resumablesOf(hub: object): Resumables {
  const found = byHub.get(hub);
  if (found === undefined) throw new SseError('SSE_INVALID_OPTION', 'Expected a hub from createHub().');
  return found;
}
