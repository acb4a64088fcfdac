/**
 * `@ssekit/core/broker`: what a broker author needs. The {@link Broker} contract and the envelope types, the
 * {@link StreamLog} contract of resumable streams (with {@link endEntry} and the in-memory log), `matches`
 * for replay filters, {@link History} for a broker that keeps events in memory, and the option and input checks
 * ssekit's own brokers use, so that a broker's errors read like the rest of ssekit's.
 *
 * @packageDocumentation
 */
export {
  type Broker,
  type ClientOrTopic,
  type ControlMessage,
  type Envelope,
  type GapReason,
  type InterestChange,
  matches,
  type OutgoingEnvelope,
  type ReplayFilter,
  type ReplayResult,
  type Target,
} from './broker-contract.js';
export { checkEvent, checkId, checkIdempotencyKey, checkRetry } from './frame.js';
export { DEFAULT_HISTORY_SIZE, History, type HistoryOptions } from './history.js';
export {
  createMemoryStreamLog,
  DEFAULT_MEMORY_TOMBSTONE,
  DEFAULT_PRODUCER_LEASE,
  MemoryStreamLog,
  type MemoryStreamLogOptions,
} from './memory-stream-log.js';
export {
  checkAppend,
  checkLeases,
  checkLimits,
  checkListener,
  checkPosition,
  checkStreamKey,
  checkStreamKeys,
} from './stream-log-checks.js';
export {
  type AppendResult,
  type CreateResult,
  endEntry,
  type LogAppend,
  type LogEntry,
  type ProducerLease,
  type ReadResult,
  type StreamEnd,
  type StreamLog,
  type StreamLogLimits,
} from './stream-log-contract.js';
export {
  assertClientId,
  assertKnownOptions,
  assertTopic,
  describe,
  durationOption,
  functionOption,
  MAX_NAME_LENGTH,
  positiveIntOption,
} from './validate.js';
