import type { CloseReason, SseStream } from './stream.js';
import { writerOf } from './writer.js';

/**
 * Ends a stream with a reason other than `server`: what an adapter does when its framework shuts down (`shutdown`)
 * or the route handler failed (`error`). Idempotent, like `stream.close()`.
 */
export function endStream(stream: SseStream, reason: CloseReason, error?: unknown): void {
  writerOf(stream).end(reason, error);
}
