import { SseError, SseTypeError } from '@ssekit/core';
import {
  assertClientId,
  assertTopic,
  type ClientOrTopic,
  type ControlMessage,
  checkIdempotencyKey,
  checkRetry,
  type InterestChange,
  type OutgoingEnvelope,
} from '@ssekit/core/broker';
import type { RedisConnection, ResolvedRedisBrokerOptions } from './options.js';

// What the Redis broker refuses before it acts: bad arguments to its constructor, publish, control and interest.

/**
 * Checks that a Redis Cluster comes with the partitioned log.
 * @throws SseError `SSE_INVALID_OPTION`.
 */
export function checkClusterPartitions(connection: RedisConnection, options: ResolvedRedisBrokerOptions): void {
  if ('cluster' in connection && options.partitions === 0) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      'A Redis Cluster needs the partitioned log: set `partitions` (e.g. 16), so that the partitions spread over its masters.',
    );
  }
}

/**
 * Checks an event to publish: no caller-given `id`, and a well-formed `idempotencyKey` if any.
 * @throws SseTypeError `SSE_INVALID_FIELD`.
 */
export function checkPublish(envelope: OutgoingEnvelope): void {
  if (envelope.id !== undefined) {
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'The Redis broker assigns event ids itself (Redis stream ids, ordered across instances and used for Last-Event-ID resume), so `id` cannot be set. Put your own id in the data instead.',
    );
  }
  if (envelope.idempotencyKey !== undefined) checkIdempotencyKey(envelope.idempotencyKey);
}

/**
 * Checks a control message: a `disconnect` of a valid client id, with a valid `retry` if any, naming its `origin`.
 * @throws SseTypeError/SseRangeError.
 */
export function checkControl(message: ControlMessage): void {
  if (message === null || typeof message !== 'object' || message.action !== 'disconnect') {
    throw new SseTypeError('SSE_INVALID_FIELD', "A control message must have `action: 'disconnect'`.");
  }
  assertClientId(message.clientId);
  if (message.retry !== undefined) checkRetry(message.retry);
  if (typeof message.origin !== 'string') {
    throw new SseTypeError('SSE_INVALID_FIELD', 'A control message must name its `origin` (a string).');
  }
}

/**
 * Checks an interest change: `add` or `remove` of a client id or topic.
 * @throws SseTypeError `SSE_INVALID_FIELD`.
 */
export function checkInterest(change: InterestChange, target: ClientOrTopic): void {
  if (change !== 'add' && change !== 'remove') {
    throw new SseTypeError('SSE_INVALID_FIELD', "An interest change is 'add' or 'remove'.");
  }
  if (target?.type === 'client') assertClientId(target.clientId);
  else if (target?.type === 'topic') assertTopic(target.topic);
  else
    throw new SseTypeError(
      'SSE_INVALID_FIELD',
      'An interest target is { type: "client", clientId } or { type: "topic", topic }.',
    );
}
