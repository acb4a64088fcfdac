/**
 * `@ssekit/core/adapter`: what a framework adapter needs (`@ssekit/express` and `@ssekit/fastify` use only this and
 * the app API). Resolve a route's options once, open each connection with {@link openConnection}, run the route's
 * handler with {@link runRouteHandler}, and end streams with a reason of the framework's ({@link endStream}).
 *
 * @packageDocumentation
 */
export {
  answerUnopened,
  type ConnectOptions,
  openConnection,
  type ResolvedConnectOptions,
  resolveConnectOptions,
  routeHandlerFailed,
  runRouteHandler,
  type TopicList,
} from './connect.js';
export { endStream } from './end-stream.js';
export { MAX_LAST_EVENT_ID_LENGTH, readLastEventId } from './last-event-id.js';
export type { SseRequest, SseResponse } from './stream.js';
export { type ResolvedStreamOptions, resolveStreamOptions } from './stream-options.js';
