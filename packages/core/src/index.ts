/**
 * `@ssekit/core`: Server-Sent Events for Node.js, the app API.
 *
 * - {@link formatEvent}: spec-exact `text/event-stream` framing with field validation.
 * - {@link createStream}: one connection with heartbeats, lifetime, backpressure and one close reason.
 * - {@link createHub}: the registry of connections by client id and topic, with history for `Last-Event-ID`.
 * - Resumable streams: a route option (`resumable`), `stream.resumable(producer)` and `hub.cancelStream(key)`;
 *   the wire names ({@link STREAM_KEY_HEADER}, {@link DONE_EVENT}, …) and the {@link EventMap} type.
 *
 * Adapter authors import from `@ssekit/core/adapter`; broker authors (the `Broker` contract, `History`, the
 * option checks) from `@ssekit/core/broker`.
 *
 * @packageDocumentation
 */
export { isSseError, SseError, type SseErrorCode, type SseErrorFields, SseRangeError, SseTypeError } from './errors.js';
export {
  type EventData,
  formatComment,
  formatEvent,
  jsonSerializer,
  type RetryDelay,
  type SendOptions,
  type Serializer,
  type SseMessage,
} from './frame.js';
export { DEFAULT_HISTORY_SIZE, type HistoryOptions } from './history.js';
export { createHub, Hub, type HubEvents } from './hub.js';
export type { HubOptions, LimitResponse, MeterProviderLike, ResolvedLimitResponse } from './hub-options.js';
export type { HubStats } from './hub-stats.js';
export type { Refusal } from './limits.js';
export { createMemoryBroker, MemoryBroker, type MemoryBrokerOptions } from './memory-broker.js';
export { createMemoryStreamLog, MemoryStreamLog } from './memory-stream-log.js';
export type { PipeOptions, PipeResult, PipeSource } from './pipe.js';
export type { EventMap, Producer, ProducerAbortReason, StreamItem } from './producer.js';
export {
  DONE_EVENT,
  ERROR_EVENT,
  MAX_STREAM_KEY_LENGTH,
  STREAM_ACTION_HEADER,
  STREAM_EVENT,
  STREAM_KEY_HEADER,
} from './resumable-protocol.js';
export {
  DEFAULT_STREAM_GRACE,
  DEFAULT_STREAM_MAX_BYTES,
  DEFAULT_STREAM_MAX_EVENTS,
  DEFAULT_STREAM_TTL,
  type ResumableOptions,
} from './resumable-route.js';
export {
  type CloseReason,
  createStream,
  type SseRequest,
  type SseResponse,
  SseStream,
  type StreamEvents,
} from './stream.js';
export { DEFAULT_CLOSE_RETRY } from './stream-close.js';
export type { StreamEnd } from './stream-log-contract.js';
export {
  DEFAULT_HEARTBEAT,
  DEFAULT_MAX_BUFFERED_BYTES,
  type Logger,
  type StreamOptions,
} from './stream-options.js';
export { assertClientId, assertTopic, MAX_NAME_LENGTH } from './validate.js';
