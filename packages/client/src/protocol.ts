// The names of ssekit's resumable-stream protocol (RESUMABLE.md, docs/streaming-responses.md), declared again here
// rather than imported: the client must not pull server code (or its types) into a browser bundle.

/** Request and response header carrying a resumable stream's key (`Ssekit-Stream-Key`). */
export const STREAM_KEY_HEADER = 'ssekit-stream-key';

/** Request header that, set to `cancel` with the key header, asks the server to stop a resumable stream. */
export const STREAM_ACTION_HEADER = 'ssekit-stream-action';

/** The first event of every resumable stream; its data is `{"key":"<key>"}`. */
export const STREAM_EVENT = 'ssekit-stream';

/** The terminal event of a resumable stream that finished. */
export const DONE_EVENT = 'ssekit-done';

/** The terminal event of a resumable stream that failed; its data is `{"reason":"…","message"?:"…"}`. */
export const ERROR_EVENT = 'ssekit-error';

/** The event a server sends when the position the client asked for cannot be resumed from. */
export const RESET_EVENT = 'ssekit-reset';
