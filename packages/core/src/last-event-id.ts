import type { SseRequest } from './stream.js';

/** Longest `Last-Event-ID` taken into account; a longer one is treated as invalid. */
export const MAX_LAST_EVENT_ID_LENGTH = 1024;

/**
 * Reads `Last-Event-ID` (header first, then the `lastEventId` query parameter that polyfills use).
 * One that is too long or not printable ASCII is `invalid`: the client is then treated as new (a reset).
 */
export function readLastEventId(req: SseRequest): { id: string | undefined; invalid: boolean } {
  let raw: unknown = req.headers['last-event-id'];
  if (raw === undefined) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q !== -1 && url.includes('lastEventId=', q))
      raw = new URLSearchParams(url.slice(q + 1)).get('lastEventId') ?? undefined;
  }
  if (raw === undefined || raw === '') return { id: undefined, invalid: false };
  // Only printable ASCII: the ids `send()` accepts. Other bytes in a header arrive as Latin-1 and could not be told
  // from UTF-8, so such an id is reported as invalid rather than misread.
  if (typeof raw !== 'string' || raw.length > MAX_LAST_EVENT_ID_LENGTH || /[^\x20-\x7e]/.test(raw)) {
    return { id: undefined, invalid: true };
  }
  return { id: raw, invalid: false };
}
