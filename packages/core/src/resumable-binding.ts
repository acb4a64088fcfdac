import { SseError, SseTypeError } from './errors.js';
import type { Producer, ProducerRun } from './producer.js';
import type { SseStream } from './stream.js';
import type { StreamEnd } from './stream-log-contract.js';
import { describe } from './validate.js';

// The producer slot of each stream that started a resumable stream, for `stream.resumable()`.
const starts = new WeakMap<SseStream, ProducerRun>();
// Streams that resume: the route's handler must not run for them.
const resumes = new WeakSet<SseStream>();

/** True for a stream opened to resume a resumable stream: its route handler does not run. */
export function skipsHandler(stream: SseStream): boolean {
  return resumes.has(stream);
}

/** `stream.resumable(producer)`: runs the producer of the stream this request started. */
export function startProducer(stream: SseStream, producer: Producer): Promise<StreamEnd> {
  const run = starts.get(stream);
  if (run === undefined) {
    throw new SseError(
      'SSE_NOT_RESUMABLE',
      'resumable() is only available on the stream of a request that started a resumable stream: declare the route with the `resumable` option.',
    );
  }
  if (typeof producer !== 'function') {
    throw new SseTypeError(
      'SSE_INVALID_SOURCE',
      `resumable(producer): the producer must be a function of an AbortSignal, got ${describe(producer)}.`,
    );
  }
  if (run.running) {
    throw new SseError('SSE_NOT_RESUMABLE', 'resumable() was called already for this stream: its producer runs once.');
  }
  return run.start(producer);
}

/** Makes `run` the producer slot `stream.resumable()` starts. */
export function bindStart(stream: SseStream, run: ProducerRun): void {
  starts.set(stream, run);
}

/** Marks a stream as a resume, whose route handler does not run. */
export function markResume(stream: SseStream): void {
  resumes.add(stream);
}
