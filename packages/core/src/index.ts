/**
 * `@ssekit/core`: Server-Sent Events for Node.js.
 *
 * - {@link formatEvent}: spec-exact `text/event-stream` framing with field validation.
 * - {@link createStream}: one connection with heartbeats, lifetime, backpressure and one close reason.
 * - {@link createHub}: the registry of connections by client id and topic, with history for `Last-Event-ID`.
 * - {@link Broker}: the seam a multi-instance transport (`@ssekit/redis`) plugs into.
 *
 * @packageDocumentation
 */
export {
  type Broker,
  type ControlMessage,
  type Envelope,
  type GapReason,
  matches,
  type OutgoingEnvelope,
  type ReplayFilter,
  type ReplayResult,
  type Target,
} from './broker.js';
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
export { isSseError, SseError, type SseErrorCode, type SseErrorFields, SseRangeError, SseTypeError } from './errors.js';
export {
  checkEvent,
  checkId,
  checkRetry,
  type EventData,
  formatComment,
  formatEvent,
  jsonSerializer,
  type RetryDelay,
  type SendOptions,
  type Serializer,
  type SseMessage,
  serializeData,
} from './frame.js';
export { DEFAULT_HISTORY_SIZE, History, type HistoryOptions } from './history.js';
export { createHub, Hub, type HubEvents, type HubStats, type Refusal } from './hub.js';
export type { HubOptions, LimitResponse } from './hub-options.js';
export { MAX_LAST_EVENT_ID_LENGTH, readLastEventId } from './last-event-id.js';
export { createMemoryBroker, MemoryBroker, type MemoryBrokerOptions } from './memory-broker.js';
export type { PipeOptions, PipeResult, PipeSource } from './pipe.js';
export {
  type CloseReason,
  createStream,
  DEFAULT_CLOSE_RETRY,
  type SseRequest,
  type SseResponse,
  SseStream,
  type StreamEvents,
} from './stream.js';
export {
  DEFAULT_HEARTBEAT,
  DEFAULT_MAX_BUFFERED_BYTES,
  type Logger,
  type ResolvedStreamOptions,
  resolveStreamOptions,
  type StreamOptions,
} from './stream-options.js';
export { assertClientId, assertTopic, MAX_NAME_LENGTH } from './validate.js';
