import type { Envelope, GapReason, ReplayResult } from './broker-contract.js';
import { flusher } from './flusher.js';
import type { ResolvedHubOptions } from './hub-options.js';
import type { HubDetail } from './hub-stats.js';
import type { SseStream } from './stream.js';
import { type Writer, writerOf } from './writer.js';

/** The hub's counters a resume moves. */
export interface ResumeCounters {
  replayed: number;
  resets: number;
  detail: Pick<HubDetail, 'resumes' | 'resets'>;
}

/**
 * Replays to a stream the events it missed since its `Last-Event-ID`, then releases the live events held meanwhile
 * without those the replay already sent. A cursor that cannot be resumed from gets the reset event instead.
 * `frameOf` is the hub's, so that a replayed event shares its bytes with live delivery.
 */
export async function resume(
  stream: SseStream,
  options: ResolvedHubOptions,
  counters: ResumeCounters,
  frameOf: (envelope: Envelope) => Buffer,
): Promise<void> {
  const writer = writerOf(stream);
  writer.hold();
  let result: ReplayResult;
  if (stream.lastEventIdInvalid) {
    result = { ok: false, reason: 'invalid-id' };
  } else {
    try {
      result = await options.broker.replay(stream.lastEventId as string, {
        clientId: stream.clientId,
        topics: stream.topics,
      });
    } catch (error) {
      options.logger.warn(
        '[ssekit] replay failed; the connection is closed so the client retries with its cursor.',
        error,
      );
      result = { ok: false, reason: 'unavailable' };
    }
  }
  if (stream.closed) return;
  if (!result.ok) {
    if (result.reason === 'unavailable') {
      // Keep the client's cursor: end now and let it come back when the broker answers again.
      counters.detail.resumes.failed++;
      writer.end('error');
      return;
    }
    sendReset(stream, writer, result.reason, result.head, options.resetEvent, counters);
    writer.releaseHeld(undefined);
    return;
  }
  counters.detail.resumes.replayed++;
  const replayed = new Set<string>();
  const limit = stream.maxBufferedBytes / 2;
  for (const envelope of result.events) {
    if (stream.closed) return;
    writer.queueFrame(frameOf(envelope), flusher.next());
    replayed.add(envelope.id);
    counters.replayed++;
    // A long replay must respect backpressure like live traffic does, or it would cut itself off as slow.
    if (stream.bufferedBytes > limit) await stream.drained();
  }
  writer.releaseHeld(replayed);
}

function sendReset(
  stream: SseStream,
  writer: Writer,
  reason: Exclude<GapReason, 'unavailable'>,
  head: string | undefined,
  resetEvent: string | false,
  counters: ResumeCounters,
): void {
  counters.resets++;
  counters.detail.resumes.reset++;
  counters.detail.resets[reason]++;
  // The id moves the client's cursor to the newest event (or clears it), so the next reconnect does not reset again.
  let frame = `id: ${head ?? ''}\n`;
  if (resetEvent !== false) {
    const info: { reason: GapReason; lastEventId?: string } = { reason };
    if (stream.lastEventId !== undefined) info.lastEventId = stream.lastEventId;
    frame = `event: ${resetEvent}\n${frame}data: ${JSON.stringify(info)}\n`;
  }
  writer.queueFrame(Buffer.from(`${frame}\n`), flusher.next());
}
