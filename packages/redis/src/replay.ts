import { type Envelope, matches, type ReplayFilter, type ReplayResult } from '@ssekit/core/broker';
import type { StreamEntry } from './codec.js';
import { compareStreamIds, isStreamId } from './stream-id.js';

/** What a replay reads from: the stream, and the position of this instance's reader. */
export interface ReplaySource {
  /** Up to `count` entries from `start` (an id, `(id` for "after id", or `-`), oldest first. */
  range(start: string, count: number): Promise<StreamEntry[]>;
  /** See {@link StreamReader.isAmbiguous}. */
  isAmbiguous(id: string): boolean;
  /** Resolves `true` once the reader has delivered `id`, `false` when it does not within `commandTimeout`. */
  delivered(id: string): Promise<boolean>;
}

/**
 * The events after `lastEventId` that match `filter`, oldest first, read in pages of `batch` with `XRANGE`.
 * `delivered` is the reader's position, read by the caller before any await: the hub started holding live events
 * for this connection just then, so everything the reader delivers later is newer.
 * A gap (`unknown-id` for an id this stream never held, or one that the current and the previous log both issued;
 * `expired` for one trimmed away) carries as `head` that position, so the client's cursor lines up with the live
 * events that follow. `unavailable` when the reader has not yet delivered `lastEventId` itself (it is catching up
 * after a disconnection), or does not deliver what the replay read within `commandTimeout`: live events would
 * otherwise reach the client twice.
 */
export async function replayFrom(
  source: ReplaySource,
  delivered: string,
  lastEventId: string,
  filter: ReplayFilter,
  batch: number,
): Promise<ReplayResult> {
  const head = delivered === '' ? undefined : delivered;
  if (typeof lastEventId !== 'string' || !isStreamId(lastEventId) || source.isAmbiguous(lastEventId)) {
    return { ok: false, reason: 'unknown-id', head };
  }
  // Inclusive start: the entry itself proves the id is real; when it was trimmed, its successor still names it.
  const firstPage = await source.range(lastEventId, batch + 1);
  const first = firstPage[0];
  if (first === undefined) return { ok: false, reason: 'unknown-id', head };
  if (first.id !== lastEventId && first.prev !== lastEventId) {
    const oldest = (await source.range('-', 1))[0];
    const expired = oldest !== undefined && compareStreamIds(lastEventId, oldest.id) < 0;
    return { ok: false, reason: expired ? 'expired' : 'unknown-id', head };
  }
  if (compareStreamIds(delivered, lastEventId) < 0) return { ok: false, reason: 'unavailable' };

  const events: Envelope[] = [];
  collect(first.id === lastEventId ? firstPage.slice(1) : firstPage, filter, events);
  let last = (firstPage[firstPage.length - 1] as StreamEntry).id;
  let full = firstPage.length === batch + 1;
  while (full) {
    const page = await source.range(`(${last}`, batch);
    const next = page[0];
    if (next === undefined) break;
    // Trimmed while we were reading: what followed `last` is gone.
    if (next.prev !== undefined && next.prev !== last) return { ok: false, reason: 'expired', head };
    collect(page, filter, events);
    last = (page[page.length - 1] as StreamEntry).id;
    full = page.length === batch;
  }
  // The replay may have read entries the reader has not delivered yet. Their live copies must reach the hub while
  // it still holds this connection's live events (it drops those the replay sent); after that they would be
  // written a second time. So wait until the reader has delivered everything the replay read.
  if (!(await source.delivered(last))) return { ok: false, reason: 'unavailable' };
  return { ok: true, events };
}

function collect(entries: readonly StreamEntry[], filter: ReplayFilter, into: Envelope[]): void {
  for (const entry of entries) {
    const envelope = entry.envelope;
    if (envelope !== undefined && matches(envelope.target, filter)) into.push(envelope);
  }
}
