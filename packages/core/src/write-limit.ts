import type { SseResponse } from './stream.js';

/** Bytes Node's socket buffer holds for the response, not yet taken by the network. */
export function socketBuffered(res: SseResponse): number {
  return res.writableLength ?? 0;
}

/**
 * True when the client costs more than `maxBufferedBytes` plus one event. What waits for it (Node's socket buffer
 * and `pending`) is counted minus its largest single event: the one in the write the socket is still taking (at
 * most what the socket still holds) or the largest waiting one. So an event larger than the limit reaches a client
 * that reads, whatever its size, while a client that does not read is cut once more than the limit waits behind
 * it: memory stays at most the limit plus one event. Judging by progress (bytes drained over a window) was not
 * chosen: it cannot bound memory by itself, and a client that reads keeps the socket below the limit anyway.
 */
export function isOverLimit(
  socket: number,
  inFlightLargest: number,
  pendingBytes: number,
  pendingLargest: number,
  maxBufferedBytes: number,
): boolean {
  const largest = Math.max(Math.min(inFlightLargest, socket), pendingLargest);
  return socket + pendingBytes - largest > maxBufferedBytes;
}
