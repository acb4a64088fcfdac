/**
 * A small fetch-based Server-Sent Events client for browsers and Node.js: any method, headers and body; reconnects
 * with backoff, jitter and `Last-Event-ID`; resumes ssekit's resumable streams by their key without sending the body
 * again; stops on a terminal event, a 4xx, `close()` or an `AbortSignal`; events typed by an event map shared with
 * the server. It imports no server code. See docs/client.md.
 *
 * ```ts
 * import { connect } from '@ssekit/client';
 *
 * type ChatEvents = { token: { text: string }; usage: { tokens: number } };
 * const answer = connect<ChatEvents>('/chat', { body: JSON.stringify({ prompt: 'Hi' }) });
 * for await (const event of answer) {
 *   if (event.event === 'token') console.log(event.data.text);
 * }
 * ```
 *
 * @packageDocumentation
 */
export type { RetryOptions } from './backoff.js';
export { connect } from './connect.js';
export { SseClientError, type SseClientErrorCode, type SseClientErrorDetails } from './errors.js';
export type { EventMap, SseEvent, UntypedEvents } from './events.js';
export type { ConnectOptions, FetchLike, RequestBody, RetryInfo, SseClient } from './options.js';
export {
  DONE_EVENT,
  ERROR_EVENT,
  RESET_EVENT,
  STREAM_ACTION_HEADER,
  STREAM_EVENT,
  STREAM_KEY_HEADER,
} from './protocol.js';
