import type { SseRequest } from './stream.js';

/** Longest `Last-Event-ID` taken into account; a longer one is treated as invalid. */
export const MAX_LAST_EVENT_ID_LENGTH = 1024;

/** Reads `Last-Event-ID` (header first, then the `lastEventId` query parameter that polyfills use). */
export function readLastEventId(req: SseRequest): { id: string | undefined; invalid: boolean } {
  let raw: unknown = req.headers['last-event-id'];
  if (raw === undefined) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q !== -1 && url.includes('lastEventId=', q))
      raw = new URLSearchParams(url.slice(q + 1)).get('lastEventId') ?? undefined;
  }
  if (raw === undefined || raw === '') return { id: undefined, invalid: false };
  if (typeof raw !== 'string' || raw.length > MAX_LAST_EVENT_ID_LENGTH || /[\u0000-\u001f\u007f]/.test(raw)) {
    return { id: undefined, invalid: true };
  }
  return { id: raw, invalid: false };
}
