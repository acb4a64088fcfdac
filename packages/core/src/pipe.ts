import { SseTypeError } from './errors.js';
import { checkEvent, type EventData } from './frame.js';
import type { CloseReason, SseStream } from './stream.js';
import type { Logger } from './stream-options.js';
import { describe } from './validate.js';
import { writerOf } from './writer.js';

/** What `pipe()` resolves with: why the piping stopped. It never rejects. */
export type PipeResult =
  | { reason: 'end' }
  | { reason: 'closed'; closeReason: CloseReason }
  | { reason: 'error'; error: unknown };

/** Options of `pipe()`. */
export interface PipeOptions {
  /** Event name for every item. */
  event?: string;
  /** End the stream (reason `server`) when the source is done. Default true. */
  end?: boolean;
}

/** Something `pipe()` can read: an async iterable (async generator, Node `Readable`) or a web `ReadableStream`. */
export type PipeSource<T = unknown> = AsyncIterable<T> | Iterable<T> | ReadableStream<T>;

/** The loop of `stream.pipe()`, documented there; `logger` is the stream's. */
export async function pipeInto(
  stream: SseStream,
  source: PipeSource,
  options: PipeOptions,
  logger: Logger,
): Promise<PipeResult> {
  const writer = writerOf(stream);
  const iterator = toIterator(source);
  if (options.event !== undefined) checkEvent(options.event);
  const end = options.end ?? true;
  const decoder = new TextDecoder();
  // Each step waits for the source or the end of the stream, whichever comes first. One `close` listener serves
  // the whole pipe: racing every step against one long-lived promise (Promise.race) would leave a reaction on it
  // per item until the stream ends, a leak on a long-running feed.
  let wake: ((step: undefined) => void) | undefined;
  const onClose = (): void => wake?.(undefined);
  stream.on('close', onClose);
  try {
    while (!stream.closed) {
      const next = Promise.resolve(iterator.next());
      const step = await new Promise<IteratorResult<unknown> | undefined>((resolve, reject) => {
        wake = resolve;
        // Handles a rejection that comes after the stream closed, too: it must not surface as unhandled.
        next.then(resolve, reject);
      });
      wake = undefined;
      if (step === undefined || stream.closed) break;
      if (step.done) {
        if (end) writer.end('server');
        return { reason: 'end' };
      }
      const item = step.value;
      const data = item instanceof Uint8Array ? decoder.decode(item, { stream: true }) : item;
      // Any value but undefined, which send() reports as a typed error.
      stream.send(data as EventData, options.event === undefined ? undefined : { event: options.event });
      if (writer.saturated) await writer.drained();
    }
    safeReturn(iterator, logger);
    return { reason: 'closed', closeReason: stream.closeReason ?? 'client' };
  } catch (error) {
    safeReturn(iterator, logger);
    if (!stream.closed) {
      logger.error('[ssekit] a source piped into an SSE stream failed; the stream ends with reason "error".', error);
      writer.end('error', error);
    }
    return { reason: 'error', error };
  } finally {
    stream.off('close', onClose);
  }
}

/** The iterator of a source `pipe()` (or a resumable producer, `what`) can read; a typed error for anything else. */
export function toIterator(source: PipeSource, what = 'pipe() takes'): AsyncIterator<unknown> | Iterator<unknown> {
  if (source !== null && typeof source === 'object') {
    const asyncIt = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
    if (typeof asyncIt === 'function') return asyncIt.call(source);
    const syncIt = (source as Iterable<unknown>)[Symbol.iterator];
    if (typeof syncIt === 'function' && typeof source !== 'string') return syncIt.call(source);
    if (typeof (source as ReadableStream).getReader === 'function') {
      // Web streams are async-iterable in Node 20, but not every polyfill is.
      const reader = (source as ReadableStream).getReader();
      return {
        next: () => reader.read() as Promise<IteratorResult<unknown>>,
        return: async () => {
          await reader.cancel();
          return { done: true, value: undefined };
        },
      };
    }
  }
  throw new SseTypeError(
    'SSE_INVALID_SOURCE',
    `${what} an async iterable, a Node Readable or a web ReadableStream, got ${describe(source)}.`,
  );
}

/** Calls the iterator's `return()` so generators run their `finally`; its failure is logged, never thrown. */
export function safeReturn(iterator: AsyncIterator<unknown> | Iterator<unknown>, logger: Logger): void {
  if (typeof iterator.return !== 'function') return;
  try {
    const result = iterator.return();
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (error) =>
        logger.warn('[ssekit] a piped source failed while stopping', error),
      );
    }
  } catch (error) {
    logger.warn('[ssekit] a piped source failed while stopping', error);
  }
}
