import { matches, type ReplayFilter } from '@ssekit/core/broker';
import type { StreamEntry } from './codec.js';
import type { Connection } from './connection.js';
import { compareStreamIds } from './stream-id.js';
import { xrange } from './xrange.js';

// What a replay of the partitioned log reads: each partition's entries between the client's position and this
// instance's, proven free of gaps, then merged into one order.

/** The entries a replay read from one partition, or why it could not. */
export type RangeRead = { ok: true; entries: StreamEntry[] } | { ok: false; reason: 'unknown-id' | 'expired' };

/**
 * Entries of the stream `key` after `from` up to `to` (both positions) that match `filter`, proving no gap, read on
 * `publisher` in pages of `batch`.
 * The stream itself is asked whether `from` is still there, whatever this instance's reader has read: a position
 * trimmed away is found here even when the reader has not read past it yet (`from` equal to `to`).
 */
export async function readRange(
  publisher: Connection,
  key: string,
  from: string,
  to: string,
  filter: ReplayFilter,
  batch: number,
): Promise<RangeRead> {
  const entries: StreamEntry[] = [];
  // Inclusive start, not bounded by `to`: the entry itself proves `from` is real; when it was trimmed, its
  // successor still names it.
  let page = await xrange(publisher, key, from === '' ? '-' : from, '+', batch + 1);
  const first = page[0];
  if (first === undefined) {
    // Nothing at or after `from`: with `from` where this instance is, there is nothing to replay (a stream that
    // lost its end is the reader's to find); with `from` behind it, what lay between is gone.
    return from === to ? { ok: true, entries } : { ok: false, reason: 'unknown-id' };
  }
  if (first.id !== from && first.prev !== from) return { ok: false, reason: await lost(publisher, key, from) };
  if (first.id === from) page = page.slice(1);
  let last = from;
  let more = page.length === batch + 1 || (first.id === from && page.length === batch);
  for (;;) {
    for (const entry of page) {
      if (compareStreamIds(entry.id, to) > 0) {
        more = false;
        break;
      }
      if (entry.prev !== undefined && entry.prev !== last) return { ok: false, reason: 'expired' };
      last = entry.id;
      if (entry.envelope !== undefined && matches(entry.envelope.target, filter)) entries.push(entry);
    }
    if (last === to || !more) break;
    page = await xrange(publisher, key, `(${last}`, to, batch);
    more = page.length === batch;
  }
  // `to` is not an entry when this instance's reader found a loss there (or started at a trimmed position): the
  // entries between `from` and it are gone for this connection too.
  if (last !== to) return { ok: false, reason: 'expired' };
  return { ok: true, entries };
}

/** Why `from` cannot be found in `key`: trimmed away (`expired`), or never an id of this log (`unknown-id`). */
async function lost(publisher: Connection, key: string, from: string): Promise<'expired' | 'unknown-id'> {
  if (from === '') return 'expired';
  const oldest = (await xrange(publisher, key, '-', '+', 1))[0];
  return oldest !== undefined && compareStreamIds(from, oldest.id) < 0 ? 'expired' : 'unknown-id';
}

/** The entries of several partitions, by stream id, then partition: the same order on every instance. */
export function* merge(lists: { p: number; entries: StreamEntry[] }[]): Generator<{ p: number; entry: StreamEntry }> {
  const at = lists.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const entry = (lists[i] as { entries: StreamEntry[] }).entries[at[i] as number];
      if (entry === undefined) continue;
      if (best === -1) {
        best = i;
        continue;
      }
      const bestList = lists[best] as { p: number; entries: StreamEntry[] };
      const order = compareStreamIds(entry.id, (bestList.entries[at[best] as number] as StreamEntry).id);
      if (order < 0 || (order === 0 && (lists[i] as { p: number }).p < bestList.p)) best = i;
    }
    if (best === -1) return;
    const list = lists[best] as { p: number; entries: StreamEntry[] };
    yield { p: list.p, entry: list.entries[at[best] as number] as StreamEntry };
    at[best] = (at[best] as number) + 1;
  }
}
