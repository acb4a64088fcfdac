import { setTimeout as delay } from 'node:timers/promises';

/** The text the word stream spells out, one word per event. */
export const WORDS = (
  'Server-Sent Events: one HTTP response, kept open, carrying text from the server to the browser. ' +
  'The browser reconnects by itself and says which event it saw last, so nothing is lost. ' +
  'This stream is finite: it ends, and the page closes it instead of replaying it forever.'
).split(' ');

/**
 * The finite word stream as an async generator: one word per `interval`, then done. `signal` (the stream's)
 * interrupts the wait at once when the client leaves, so no timer outlives the connection.
 */
export async function* words(interval: number, signal: AbortSignal): AsyncGenerator<string> {
  for (const word of WORDS) {
    await delay(interval, undefined, { signal });
    yield word;
  }
}
