// The seam between resumable streams and their storage: the hub runs producers and serves readers; a stream log
// keeps each stream's events (in the process for the in-memory broker, in Redis for @ssekit/redis), tells other
// instances about new entries and cancels, and forgets a stream when it expires.

import { DONE_EVENT, ERROR_EVENT } from './resumable-protocol.js';

/** How a resumable stream ended, as its terminal entry says. */
export type StreamEnd =
  | { readonly type: 'done' }
  | {
      readonly type: 'error';
      /**
       * `cancelled`: someone cancelled it. `abandoned`: every reader left and the grace period passed.
       * `producer-error`: the producer threw. `too-large`: the log's bound in events or bytes was reached.
       * `lost`: its producer's instance stopped (or lost its log) before the end.
       */
      readonly reason: 'cancelled' | 'abandoned' | 'producer-error' | 'too-large' | 'lost';
      readonly message?: string | undefined;
    };

/** An event to append to a stream's log: already serialized, like an `Envelope`. */
export interface LogAppend {
  readonly event?: string | undefined;
  readonly data: string;
}

/** One entry of a stream's log. `seq` is its position (1, 2, 3, ...), the event id on the wire. */
export interface LogEntry extends LogAppend {
  readonly seq: number;
  /** Set on the last entry of a stream that has ended. */
  readonly end?: StreamEnd | undefined;
}

/** Bounds of one stream's log, fixed when it is created. */
export interface StreamLogLimits {
  /** Most entries the log holds, its terminal entry included; the producer is stopped with `too-large` past it. */
  readonly maxEvents: number;
  /** Most bytes of event data the log holds; likewise. */
  readonly maxBytes: number;
  /** How long a stream stays readable after its last append (finished or not), in ms. */
  readonly ttl: number;
}

/** What `create()` answers: the generation fences the producer's appends against a later stream of the same key. */
export type CreateResult =
  | { readonly ok: true; readonly generation: string }
  | { readonly ok: false; readonly reason: 'exists' };

/**
 * What `append()` answers. `stopped`: the stream was cancelled, ended, expired or recreated since this producer
 * created it; its producer must stop (its entries were not appended). `full`: a bound was reached; the log holds a
 * terminal `too-large` entry now.
 */
export type AppendResult =
  | { readonly ok: true; readonly seq: number }
  | { readonly ok: false; readonly reason: 'stopped' | 'full' };

/** A stream whose producer runs on this instance, for `renew()`. */
export interface ProducerLease {
  readonly key: string;
  /** The generation `create()` answered: only the stream of that generation is renewed. */
  readonly generation: string;
}

/** What `read()` answers. `expired`: the key existed and expired (for a while after, then it is `unknown`). */
export type ReadResult =
  | {
      readonly status: 'ok';
      readonly owner: string | undefined;
      /** The entries after the position asked, oldest first; the last has `end` when the stream has ended. */
      readonly entries: readonly LogEntry[];
      /** The `seq` of the newest entry (0 when there is none): a position past it was never issued. */
      readonly head: number;
      /** True once the stream has its terminal entry (the entry at `head`). */
      readonly ended: boolean;
    }
  | { readonly status: 'unknown' | 'expired' };

/**
 * The terminal entry of a stream that ended so: event `ssekit-done` with data `{}`, or `ssekit-error` with data
 * `{"reason", "message"?}`. Stores append it themselves for `cancel()` and a bound reached (`full`).
 */
export function endEntry(end: StreamEnd): LogAppend & { readonly end: StreamEnd } {
  if (end.type === 'done') return { event: DONE_EVENT, data: '{}', end };
  const body: { reason: string; message?: string } = { reason: end.reason };
  if (end.message !== undefined) body.message = end.message;
  return { event: ERROR_EVENT, data: JSON.stringify(body), end };
}

/**
 * Storage of resumable streams. Implementations: the in-memory broker's (the default) and `@ssekit/redis`'s.
 *
 * Contract:
 * - `create` is atomic across instances: exactly one caller gets `ok` for a key while it exists.
 * - `append` is fenced by the generation: a producer whose stream was cancelled, ended or recreated gets `stopped`.
 *   Appending an entry with `end` ends the stream: later appends get `stopped`, readers get it as the last entry.
 * - `read(key, after)` returns every entry with `seq > after`, in order.
 * - `follow(key, listener)` calls `listener` with entries appended from now on, in order, on every instance, until the
 *   returned function is called. A reader follows first, then reads, and drops what it already has by `seq`: no gap.
 * - `cancel(key)` appends a terminal `cancelled` entry (unless the stream has ended) and tells the producer's
 *   instance through `onCancel`, whichever instance that is.
 * - `setReaders(key, present)` / `hasReaders(key)` share across instances whether any instance has a reader of a
 *   stream, for the producer's grace period. An instance calls `setReaders(key, true)` when its first reader of the
 *   key opens and `setReaders(key, false)` when its last one closes, so its calls alternate; `hasReaders` is true
 *   while any instance's last call was `true`. Presence an instance set expires on its own if that instance dies.
 * - Entries the log writes itself (`cancelled`, `too-large`) are {@link endEntry}'s, so that every store sends the
 *   same terminal events.
 * - Producer lease: `create()` starts one of `producerLease` ms for the new stream, and every append by its
 *   producer renews it. The producing instance renews the leases of all its running producers with `renew()` (one
 *   round trip for them all) at least every third of `producerLease`. `check(keys)` is how an instance that reads
 *   streams finds a dead producer: a stream of `keys` that has not ended and whose lease lapsed gets the terminal
 *   `lost` entry, appended atomically (exactly one instance appends it, and an append or renewal that lands first
 *   keeps the stream alive); and followers of a stream of `keys` that is gone before its end (expired under them) get
 *   a terminal `lost` entry, which the log never stored. Leases are measured on one clock (Redis' own for Redis).
 * - Everything about a stream, tombstone included, is gone some time after `ttl`: memory and keys return to where
 *   they were.
 */
export interface StreamLog {
  create(key: string, owner: string | undefined, limits: StreamLogLimits): Promise<CreateResult>;
  append(key: string, generation: string, entry: LogAppend & { readonly end?: StreamEnd }): Promise<AppendResult>;
  read(key: string, after: number): Promise<ReadResult>;
  follow(key: string, listener: (entry: LogEntry) => void): () => void;
  cancel(key: string): Promise<'cancelled' | 'ended' | 'unknown'>;
  onCancel(listener: (key: string) => void): () => void;
  setReaders(key: string, present: boolean): void;
  hasReaders(key: string): Promise<boolean>;
  /** How long a producer's lease lasts unrenewed, ms: a dead producer's stream ends with `lost` this long after. */
  readonly producerLease: number;
  renew(streams: readonly ProducerLease[]): Promise<void>;
  check(keys: readonly string[]): Promise<void>;
  close(): void | Promise<void>;
}
