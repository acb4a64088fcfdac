import { checkRetry, type RetryDelay } from './frame.js';
import type { SseStream } from './stream.js';
import { writerOf } from './writer.js';

/**
 * Ends every stream with reason `shutdown` and a last `retry` hint: `retry … retry + jitter` ms, or without
 * `retry`, each stream's own base spread by the jitter.
 * @throws for a bad `retry` or `jitter`, before any stream ends.
 */
export function endForShutdown<R extends number = number, J extends number = number>(
  streams: Iterable<SseStream>,
  options: { retry?: RetryDelay<R>; jitter?: RetryDelay<J> },
): void {
  if (options.retry !== undefined) checkRetry(options.retry);
  if (options.jitter !== undefined) checkRetry(options.jitter);
  const base = options.retry;
  const jitter = options.jitter ?? 0;
  for (const stream of [...streams]) {
    const writer = writerOf(stream);
    // Without a `retry`, each stream's own hint (its `retry` option, or the default), spread by the jitter.
    const hint =
      base === undefined && jitter === 0
        ? undefined
        : (base ?? writer.closeRetry) + Math.floor(Math.random() * (jitter + 1));
    writer.end('shutdown', undefined, hint);
  }
}
