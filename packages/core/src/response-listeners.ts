import type { SseResponse, SseStream } from './stream.js';

// The response's `close` and `error` listeners are two functions shared by every stream, which find their stream
// here: two closures per connection (and the context they share) cost about 150 bytes, an entry here about 40.
const streamOfResponse = new WeakMap<SseResponse, SseStream>();

/** Ends `stream` (reason `client`) when its response closes or fails. */
export function listenTo(res: SseResponse, stream: SseStream): void {
  streamOfResponse.set(res, stream);
  res.on('close', onResponseClose);
  res.on('error', onResponseError);
}

/** Removes the listeners {@link listenTo} added. */
export function stopListening(res: SseResponse): void {
  res.off('close', onResponseClose);
  res.off('error', onResponseError);
  streamOfResponse.delete(res);
}

function onResponseClose(this: SseResponse): void {
  streamOfResponse.get(this)?.endWith('client');
}

function onResponseError(this: SseResponse, error: unknown): void {
  // A socket error (reset, EPIPE) means the client is gone; it must never become an uncaught exception.
  const stream = streamOfResponse.get(this);
  if (stream !== undefined && !stream.closed) stream.endWith('client', error);
}
