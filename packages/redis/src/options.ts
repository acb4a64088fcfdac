import { type Logger, SseRangeError, SseTypeError } from '@ssekit/core';
import { assertKnownOptions, checkEvent, describe, positiveIntOption } from '@ssekit/core/broker';

/**
 * A node-redis v5 client (`createClient()` from `redis`), used as a template: the broker opens its own two
 * connections with `client.duplicate()`, so it inherits the URL, TLS, credentials and database, but never uses,
 * connects or closes your client. Standalone Redis only (not a `createCluster()` or `createSentinel()` client).
 */
export interface RedisClientTemplate {
  duplicate(overrides?: never): unknown;
}

/**
 * A Redis Cluster: the nodes to discover it from (any few of its masters or replicas), as node-redis'
 * `createCluster({ rootNodes })` takes them. Needs the partitioned log (`partitions`).
 */
export interface RedisClusterConnection {
  readonly rootNodes: readonly { readonly url: string }[];
}

/**
 * A master watched by Redis Sentinel: its name in the sentinels' configuration and the sentinels to ask (any few;
 * the same names as node-redis' `createSentinel()`). Each broker connection asks them where the master is when it
 * connects, and reconnects to the new master after a failover.
 */
export interface RedisSentinelConnection {
  readonly name: string;
  readonly sentinelRootNodes: readonly { readonly url: string }[];
  /**
   * The scheme, credentials and database of the connections to the master (its host and port come from the
   * sentinels), e.g. `rediss://user:secret@x/2`. Default `redis://` (no TLS, no password, database 0).
   */
  readonly nodeUrl?: string;
}

/**
 * Where the broker finds Redis: a URL (`redis://…`, `rediss://…` for TLS), a client to copy the settings of, a
 * Redis Cluster, or a master watched by Redis Sentinel.
 */
export type RedisConnection =
  | { readonly url: string }
  | { readonly client: RedisClientTemplate }
  | { readonly cluster: RedisClusterConnection }
  | { readonly sentinel: RedisSentinelConnection };

/** Options of {@link createRedisBroker}. */
export interface RedisBrokerOptions {
  /** The Redis stream that holds the events. Every instance of one app must use the same key. Default `'ssekit:events'`. */
  key?: string;
  /**
   * Events kept for `Last-Event-ID` resume, as `XADD … MAXLEN ~ maxLength`: Redis trims whole blocks of entries, so
   * the stream may hold a little more (up to one block, 100 entries with Redis defaults). Default 10 000.
   */
  maxLength?: number;
  /** Also drop events older than this many milliseconds (by Redis' clock). Default: no age limit. */
  maxAge?: number;
  /**
   * Longest wait, in ms, of one blocking read (`XREAD BLOCK`). New events wake the read at once; this only bounds how
   * long an idle connection goes without an answer, which is how a silently dead connection is noticed. Default 5000.
   */
  blockTimeout?: number;
  /**
   * How long, in ms, Redis may take to answer a command (beyond `blockTimeout` for the blocking read) before the
   * connection is considered dead, its pending commands are failed and it is replaced. Default 5000.
   */
  commandTimeout?: number;
  /** Entries fetched per read and per replay page. Default 500. */
  batchSize?: number;
  /**
   * The event sent to every local connection when this instance finds it missed events (it was cut off from Redis
   * longer than the history lasts, or Redis lost data). Keep it equal to the hub's `resetEvent`. `false` sends
   * nothing (the loss is only logged). Default `'ssekit-reset'`.
   */
  resetEvent?: string | false;
  /** Where connection losses, recoveries and missed events are reported. Default `console`. */
  logger?: Logger;
  /**
   * How long, in ms, a publish's `idempotencyKey` is remembered: a publish repeating the key within this window
   * appends nothing and resolves with the first one's id. Cover your longest retry. Default 300 000 (5 minutes).
   */
  idempotencyWindow?: number;
  /**
   * Partitions the log into this many streams (1 to 64), plus one for broadcasts: an event goes to the partition
   * its client id or topic hashes to, and each instance reads only the partitions its connections need, plus the
   * broadcast one. Publishing then spreads over the masters of a Redis Cluster, and an instance's Redis read
   * traffic follows what its own clients receive. Event ids become cursors over the partitions an instance reads
   * (see docs/scaling.md). Default: one stream (`key`), read whole by every instance.
   */
  partitions?: number;
  /**
   * With `partitions`: how long, in ms, an instance keeps reading a partition after its last connection that needed
   * it left, so that clients that reconnect do not start and stop readers. Default 30 000.
   */
  readerLinger?: number;
  /**
   * Resumable streams (`broker.streams`): how long, in ms, a stream that expired still answers `expired` (HTTP 410)
   * rather than `unknown` (404). Only a small marker key per stream is kept that long. Default 3 600 000 (1 hour).
   */
  streamTombstone?: number;
  /**
   * Resumable streams: how long, in ms, this instance's "I have a reader of this stream" lasts in Redis without being
   * renewed. It is renewed every third of that while the reader stays, so the presence of an instance that died or
   * lost Redis lapses within this time and its producers' grace period can start. Default 10 000.
   */
  streamReaderLease?: number;
  /**
   * Resumable streams: how long, in ms, a producer's lease lasts in Redis without being renewed. The hub running a
   * producer renews the leases of all its producers every third of that (one round trip); when its instance dies or
   * loses Redis, an instance reading the stream appends the terminal `ssekit-error` `lost` once the lease has lapsed
   * (on Redis' clock), so readers everywhere are told. Default 10 000.
   */
  streamProducerLease?: number;
}

/** Options after validation. */
export interface ResolvedRedisBrokerOptions {
  readonly key: string;
  readonly maxLength: number;
  readonly maxAge: number | undefined;
  readonly blockTimeout: number;
  readonly commandTimeout: number;
  readonly batchSize: number;
  readonly resetEvent: string | false;
  readonly logger: Logger;
  readonly idempotencyWindow: number;
  /** 0 for the single stream. */
  readonly partitions: number;
  readonly readerLinger: number;
  readonly streamTombstone: number;
  readonly streamReaderLease: number;
  readonly streamProducerLease: number;
}

/** Default stream key. */
export const DEFAULT_KEY = 'ssekit:events';
/** Default number of events kept for resume. */
export const DEFAULT_MAX_LENGTH = 10_000;
/** Default `blockTimeout`, ms. */
export const DEFAULT_BLOCK_TIMEOUT = 5000;
/** Default `commandTimeout`, ms. */
export const DEFAULT_COMMAND_TIMEOUT = 5000;
/** Default `batchSize`. */
export const DEFAULT_BATCH_SIZE = 500;
/** Default `idempotencyWindow`, ms. */
export const DEFAULT_IDEMPOTENCY_WINDOW = 300_000;
/** Most partitions: a cursor over all of them stays well within the 1024 characters of a `Last-Event-ID`. */
export const MAX_PARTITIONS = 64;
/** Default `readerLinger`, ms. */
export const DEFAULT_READER_LINGER = 30_000;
/** Default `streamTombstone`, ms. */
export const DEFAULT_STREAM_TOMBSTONE = 3_600_000;
/** Default `streamReaderLease` (and `streamProducerLease`), ms. */
export const DEFAULT_STREAM_READER_LEASE = 10_000;
// Below this a lease would be renewed more often than every 100 ms, a busy loop against Redis for every reader.
const MIN_STREAM_READER_LEASE = 300;

const OPTION_KEYS = [
  'key',
  'maxLength',
  'maxAge',
  'blockTimeout',
  'commandTimeout',
  'batchSize',
  'resetEvent',
  'logger',
  'idempotencyWindow',
  'partitions',
  'readerLinger',
  'streamTombstone',
  'streamReaderLease',
  'streamProducerLease',
] as const;

// A key is also shown in logs; control characters there only hide mistakes.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Validates the broker options once, when the broker is created. */
export function resolveOptions(options: unknown): ResolvedRedisBrokerOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `createRedisBroker() options must be an object, got ${describe(options)}.`,
    );
  }
  const o = options as Record<string, unknown>;
  assertKnownOptions('createRedisBroker()', o, OPTION_KEYS);
  const key = o.key ?? DEFAULT_KEY;
  if (typeof key !== 'string' || key.length === 0 || key.length > 512 || CONTROL.test(key)) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`key\` must be a non-empty Redis key of at most 512 characters without control characters, got ${describe(key)}.`,
    );
  }
  const resetEvent = o.resetEvent ?? 'ssekit-reset';
  if (resetEvent !== false) {
    if (typeof resetEvent !== 'string' || resetEvent === '') {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `Option \`resetEvent\` must be an event name or false, got ${describe(resetEvent)}.`,
      );
    }
    checkEvent(resetEvent);
  }
  const logger = (o.logger ?? console) as Partial<Logger>;
  if (logger === null || typeof logger.error !== 'function' || typeof logger.warn !== 'function') {
    throw new SseTypeError('SSE_INVALID_OPTION', 'Option `logger` must have `error` and `warn` methods.');
  }
  return {
    key,
    maxLength: positiveIntOption('maxLength', o.maxLength, DEFAULT_MAX_LENGTH),
    maxAge: o.maxAge === undefined ? undefined : positiveIntOption('maxAge', o.maxAge, 0),
    blockTimeout: positiveIntOption('blockTimeout', o.blockTimeout, DEFAULT_BLOCK_TIMEOUT),
    commandTimeout: positiveIntOption('commandTimeout', o.commandTimeout, DEFAULT_COMMAND_TIMEOUT),
    batchSize: positiveIntOption('batchSize', o.batchSize, DEFAULT_BATCH_SIZE),
    resetEvent,
    logger: logger as Logger,
    idempotencyWindow: positiveIntOption('idempotencyWindow', o.idempotencyWindow, DEFAULT_IDEMPOTENCY_WINDOW),
    partitions: partitionsOption(o.partitions, key),
    readerLinger: positiveIntOption('readerLinger', o.readerLinger, DEFAULT_READER_LINGER),
    streamTombstone: positiveIntOption('streamTombstone', o.streamTombstone, DEFAULT_STREAM_TOMBSTONE),
    streamReaderLease: leaseOption('streamReaderLease', o.streamReaderLease),
    streamProducerLease: leaseOption('streamProducerLease', o.streamProducerLease),
  };
}

function partitionsOption(value: unknown, key: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PARTITIONS) {
    throw new SseRangeError(
      'SSE_INVALID_OPTION',
      `Option \`partitions\` must be an integer from 1 to ${MAX_PARTITIONS}, got ${describe(value)}.`,
    );
  }
  if (key.includes('{') || key.includes('}')) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `With \`partitions\`, option \`key\` must not contain braces (the partitions' keys put it in a hash tag), got ${describe(key)}.`,
    );
  }
  return value;
}

function leaseOption(name: 'streamReaderLease' | 'streamProducerLease', value: unknown): number {
  const lease = positiveIntOption(name, value, DEFAULT_STREAM_READER_LEASE);
  if (lease < MIN_STREAM_READER_LEASE) {
    throw new SseRangeError(
      'SSE_INVALID_OPTION',
      `Option \`${name}\` must be at least ${MIN_STREAM_READER_LEASE} ms (it is renewed every third of it), got ${lease}.`,
    );
  }
  return lease;
}
