import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SseTypeError } from './errors.js';
import { checkEvent, type EventData, type Serializer, serializeData } from './frame.js';
import { type PipeSource, safeReturn, toIterator } from './pipe.js';
import { STREAM_EVENT } from './resumable-protocol.js';
import { endEntry, type LogAppend, type StreamEnd, type StreamLog } from './stream-log-contract.js';
import type { Logger } from './stream-options.js';
import { describe } from './validate.js';

/**
 * The events of a resumable stream, by name: `type ChatEvents = { token: { text: string }; usage: { tokens: number } }`.
 * Declare it once and both the server's producer and `@ssekit/client` check their events against it. `message` is
 * the unnamed event (`data:` lines only). Declare it with `type`, not `interface` (an interface has no index
 * signature, so it is not an `EventMap`).
 */
export type EventMap = Record<string, EventData>;

/**
 * One item a producer yields: `{ event, data }` with `data` of the type its event has in the map. For `message`
 * (the unnamed event) `event` may be left out. With the default map, any event name and any data.
 */
export type StreamItem<Events extends EventMap = EventMap> = string extends keyof Events
  ? { readonly event?: string; readonly data: EventData }
  : {
      [K in keyof Events & string]: K extends 'message'
        ? { readonly event?: K; readonly data: Events[K] }
        : { readonly event: K; readonly data: Events[K] };
    }[keyof Events & string];

/**
 * The producer of a resumable stream: given an `AbortSignal` (aborted when the stream is cancelled, abandoned, cut
 * for size or its instance stops; pass it on to the model SDK or `fetch`), it returns (or resolves with) the items to
 * stream: an async iterable (an async generator, a Node `Readable` in object mode), an iterable or a web
 * `ReadableStream`.
 */
export type Producer<Events extends EventMap = EventMap> = (
  signal: AbortSignal,
) => PipeSource<StreamItem<Events>> | PromiseLike<PipeSource<StreamItem<Events>>>;

/** Why a producer's signal was aborted (`signal.reason`). */
export type ProducerAbortReason = 'cancelled' | 'abandoned' | 'too-large' | 'lost';

/** How a run serializes items and reports failures: the route's. */
export interface RunOptions {
  readonly serializer: Serializer;
  readonly logger: Logger;
  /** Put the producer's error message in the `ssekit-error` event. */
  readonly exposeErrors: boolean;
}

// After this many items in a row without a macrotask, the loop yields: a producer of synchronous items must not
// starve the writes to its readers (they go out on setImmediate).
const YIELD_EVERY = 256;

/**
 * One resumable stream this instance produces: runs its producer once, appends every item to the log (without
 * waiting for readers: the log is the buffer), and appends the terminal entry however it ends.
 */
export class ProducerRun {
  /** What ended the stream; `undefined` while it runs. */
  ended: StreamEnd | undefined;
  private readonly controller = new AbortController();
  private started = false;
  private resolveEnded: ((end: StreamEnd) => void) | undefined;
  private readonly whenEnded: Promise<StreamEnd>;

  constructor(
    readonly key: string,
    /** What `create()` answered: fences this run's appends and lease renewals. */
    readonly generation: string,
    private readonly log: StreamLog,
    private readonly options: RunOptions,
    private readonly onEnd: (run: ProducerRun) => void,
  ) {
    this.whenEnded = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  /** Appends the first entry, `ssekit-stream` `{"key"}`. */
  async open(): Promise<void> {
    const result = await this.log.append(this.key, this.generation, {
      event: STREAM_EVENT,
      data: JSON.stringify({ key: this.key }),
    });
    if (!result.ok) this.settle({ type: 'error', reason: result.reason === 'full' ? 'too-large' : 'lost' });
  }

  /** True once `start()` was called. */
  get running(): boolean {
    return this.started;
  }

  /**
   * Runs the producer (at most once). Resolves with how the stream ended, once its terminal entry is in the log;
   * never rejects. A stream that ended before (cancelled) resolves at once, without running the producer.
   */
  start(producer: Producer): Promise<StreamEnd> {
    this.started = true;
    if (this.ended === undefined) void this.loop(producer);
    return this.whenEnded;
  }

  /** Stops the stream from outside: aborts the signal and appends the terminal entry (a cancel appended its own). */
  stop(reason: ProducerAbortReason): Promise<StreamEnd> {
    if (this.ended !== undefined) return this.whenEnded;
    this.controller.abort(reason);
    const end: StreamEnd = { type: 'error', reason };
    if (reason === 'cancelled') this.settle(end);
    else void this.finish(end);
    return this.whenEnded;
  }

  private async loop(producer: Producer): Promise<void> {
    const signal = this.controller.signal;
    let iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
    try {
      const source = await producer(signal);
      if (signal.aborted) return;
      iterator = toIterator(source, 'A resumable producer must return');
      for (let count = 1; ; count++) {
        const step = await this.next(iterator, signal);
        if (step === undefined || this.ended !== undefined) return;
        if (step.done) {
          iterator = undefined;
          await this.finish({ type: 'done' });
          return;
        }
        if (!(await this.append(toAppend(step.value, this.options.serializer)))) return;
        if (count % YIELD_EVERY === 0) await yieldToLoop();
      }
    } catch (error) {
      if (this.ended !== undefined) return;
      this.report('failed; the stream ends with ssekit-error "producer-error"', error);
      const message = this.options.exposeErrors && error instanceof Error ? error.message : undefined;
      await this.finish({ type: 'error', reason: 'producer-error', message });
    } finally {
      if (iterator !== undefined) safeReturn(iterator, this.options.logger);
    }
  }

  /** The next step, or `undefined` once the signal aborts first (a producer that ignores its signal is let go). */
  private next(
    iterator: AsyncIterator<unknown> | Iterator<unknown>,
    signal: AbortSignal,
  ): Promise<IteratorResult<unknown> | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const next = Promise.resolve(iterator.next());
    return new Promise((resolve, reject) => {
      const onAbort = (): void => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      next.then(
        (step) => {
          signal.removeEventListener('abort', onAbort);
          resolve(step);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Appends one item; false when the producer must stop (the log refused it or failed). */
  private async append(entry: LogAppend): Promise<boolean> {
    let result: Awaited<ReturnType<StreamLog['append']>>;
    try {
      result = await this.log.append(this.key, this.generation, entry);
    } catch (error) {
      if (this.ended !== undefined) return false;
      this.report('could not append to its log; the stream ends with ssekit-error "lost"', error);
      this.controller.abort('lost');
      await this.finish({ type: 'error', reason: 'lost' });
      return false;
    }
    if (result.ok) return true;
    if (this.ended !== undefined) return false;
    const end = result.reason === 'full' ? { type: 'error' as const, reason: 'too-large' as const } : await this.why();
    this.controller.abort(end.type === 'error' ? end.reason : 'lost');
    this.settle(end);
    return false;
  }

  /** How a stream the log stopped taking appends for ended (a cancel from another instance, most often). */
  private async why(): Promise<StreamEnd> {
    try {
      const read = await this.log.read(this.key, Number.MAX_SAFE_INTEGER);
      if (read.status === 'ok' && read.ended && read.head > 0) {
        const last = await this.log.read(this.key, read.head - 1);
        const end = last.status === 'ok' ? last.entries[0]?.end : undefined;
        if (end !== undefined) return end;
      }
    } catch {
      // Unknown then: the stream is lost to this producer all the same.
    }
    return { type: 'error', reason: 'lost' };
  }

  /** Appends the terminal entry, then settles. */
  private async finish(end: StreamEnd): Promise<void> {
    if (this.ended !== undefined) return;
    this.ended = end;
    try {
      await this.log.append(this.key, this.generation, endEntry(end));
    } catch (error) {
      this.report('could not append its terminal entry; readers resume until the stream expires', error);
    }
    this.settle(end);
  }

  private settle(end: StreamEnd): void {
    this.ended ??= end;
    const resolve = this.resolveEnded;
    if (resolve === undefined) return;
    this.resolveEnded = undefined;
    this.onEnd(this);
    resolve(this.ended);
  }

  private report(what: string, error: unknown): void {
    try {
      this.options.logger.error(`[ssekit] the producer of a resumable stream ${what}.`, error);
    } catch {
      // A broken logger must not keep the stream from ending.
    }
  }
}

/** Checks and serializes one item like `send()` does. */
function toAppend(item: unknown, serializer: Serializer): LogAppend {
  if (item === null || typeof item !== 'object' || !('data' in item)) {
    throw new SseTypeError(
      'SSE_INVALID_DATA',
      `A resumable producer must yield { event?, data } items, got ${describe(item)}. Wrap plain values: { data: value }.`,
    );
  }
  const { event, data } = item as { event?: unknown; data: unknown };
  if (event !== undefined) {
    checkEvent(event);
    if (event.startsWith('ssekit-')) {
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        `Event names starting with "ssekit-" are reserved for ssekit's own events, got ${JSON.stringify(event)}.`,
      );
    }
  }
  const text = serializeData(data, serializer);
  return { event: event === undefined || event === 'message' ? undefined : event, data: text };
}
