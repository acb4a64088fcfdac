// The seam between the hub and the transport: the hub owns local connections; a broker owns ordering, ids,
// history and (for Redis) the other instances.

import type { StreamLog } from './stream-log-contract.js';

/** Who an event is for. */
export type Target =
  | { readonly type: 'all' }
  | { readonly type: 'client'; readonly clientId: string }
  | { readonly type: 'topic'; readonly topic: string }
  /**
   * The local connections with any of these client ids or topics, each once. Never published: a broker builds it
   * for a notice of its own, e.g. the reset event for the connections that read a part of its log that lost events.
   */
  | { readonly type: 'any'; readonly clientIds: readonly string[]; readonly topics: readonly string[] };

/** An event as it travels through a broker: the data is already serialized to text. */
export interface Envelope {
  /** The event id, assigned by the broker (or given by the caller, where the broker allows it). */
  readonly id: string;
  readonly target: Target;
  /** The event data, serialized once by the publishing hub. */
  readonly data: string;
  readonly event?: string | undefined;
  readonly retry?: number | undefined;
}

/** What a hub hands to `Broker.publish`: an envelope whose id the broker assigns unless the caller gave one. */
export interface OutgoingEnvelope extends Omit<Envelope, 'id'> {
  readonly id?: string | undefined;
  /** Makes a retried publish safe: a broker that supports it stores an event once per key within its window. */
  readonly idempotencyKey?: string | undefined;
}

/**
 * An instruction from one hub to every hub sharing the broker. It is not an event: it is never written to a
 * connection, never replayed to a resuming one, and not counted as published. (The Redis broker stores it as an
 * entry of its stream, to keep it in order with events; replays skip it.)
 * - `disconnect`: each hub ends its connections of `clientId` (reason `server`), sending `retry` as a last
 *   reconnection hint when given. `hub.disconnect()` and `hub.disconnectEverywhere()` send it.
 */
export interface ControlMessage {
  readonly action: 'disconnect';
  readonly clientId: string;
  readonly retry?: number | undefined;
  /**
   * An id of the hub that sent it. That hub acted on its own connections at once, so it skips its copy (acting
   * again would end a connection the same client opened meanwhile, and count it twice).
   */
  readonly origin: string;
}

/** Which events a resuming connection would have received. Broadcasts always match. */
export interface ReplayFilter {
  readonly clientId: string | undefined;
  readonly topics: ReadonlySet<string>;
}

/** Why a `Last-Event-ID` could not be resumed from. */
export type GapReason = 'unknown-id' | 'expired' | 'invalid-id' | 'unavailable';

/**
 * The answer to a replay request: the missed events in order, or a gap. `head` is the newest id the broker knows,
 * so the client's cursor can move there after a gap.
 */
export type ReplayResult =
  | { readonly ok: true; readonly events: readonly Envelope[] }
  | { readonly ok: false; readonly reason: GapReason; readonly head?: string | undefined };

/**
 * A transport for hub events. Implementations: the in-memory broker (the default) and `@ssekit/redis`.
 *
 * Contract:
 * - `start(deliver)` is called once by the hub. From then on the broker calls `deliver` for every envelope
 *   published through it, by any instance, exactly once per instance and in publish order.
 * - `publish` assigns the id and returns it once the event is accepted (in history, for brokers that keep one).
 *   It rejects (never silently drops) when the event cannot be accepted.
 * - `replay(lastEventId, filter)` returns the events after `lastEventId` that match the filter, oldest first, or a gap.
 * - `control(message)` (optional) hands a {@link ControlMessage} to every hub sharing the broker, the sender's
 *   included, through the `onControl` given to `start`: exactly once per instance, in order with the events around
 *   it. It resolves once the message is accepted and rejects (never silently drops) when it cannot be. A broker
 *   without it serves one instance: a disconnect then ends the connections of the hub it is called on only.
 * - `interest(change, target)` (optional) tells the broker which client ids and topics this hub's connections
 *   follow: `add` when a client id gets its first connection or a topic its first subscriber, `remove` when it loses
 *   its last. A broker that reads only what its hub can deliver (the partitioned Redis log) uses it; it must still
 *   deliver every event a connection registered from then on matches. It never throws for a valid target.
 * - `close()` stops delivery and releases connections. The hub calls it from `hub.close()`.
 *
 * Controls have a method and a callback of their own rather than a flag on `Envelope`: an envelope goes into
 * history, replays and frames; a control must never reach a client, and apart it cannot, by type.
 */
export interface Broker {
  /** True when the broker assigns every id itself and refuses caller-given ids. */
  readonly assignsIds?: boolean;
  start(deliver: (envelope: Envelope) => void, onControl?: (message: ControlMessage) => void): void | Promise<void>;
  publish(envelope: OutgoingEnvelope): string | Promise<string>;
  replay(lastEventId: string, filter: ReplayFilter): ReplayResult | Promise<ReplayResult>;
  control?(message: ControlMessage): void | Promise<void>;
  interest?(change: InterestChange, target: ClientOrTopic): void;
  close(): void | Promise<void>;
  /**
   * The storage of resumable streams ({@link StreamLog}), shared by every hub on this broker. A hub whose broker has
   * none keeps them in memory, for itself. The broker closes it in `close()`.
   */
  readonly streams?: StreamLog;
}

/** See {@link Broker.interest}. */
export type InterestChange = 'add' | 'remove';

/** A target that names who follows it: a client id or a topic. */
export type ClientOrTopic = Extract<Target, { readonly type: 'client' | 'topic' }>;

/** True when a connection with this filter should receive an event for `target`. */
export function matches(target: Target, filter: ReplayFilter): boolean {
  switch (target.type) {
    case 'all':
      return true;
    case 'client':
      return filter.clientId !== undefined && target.clientId === filter.clientId;
    case 'topic':
      return filter.topics.has(target.topic);
    case 'any':
      return (
        (filter.clientId !== undefined && target.clientIds.includes(filter.clientId)) ||
        target.topics.some((topic) => filter.topics.has(topic))
      );
  }
}
