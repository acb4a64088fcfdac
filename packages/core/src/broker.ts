/**
 * The seam between the hub and the transport, shaped like socket.io's adapter split: the hub owns local
 * connections; a broker owns ordering, ids, history and (for Redis) the other instances.
 */

/** Who an event is for. */
export type Target =
  | { readonly type: 'all' }
  | { readonly type: 'client'; readonly clientId: string }
  | { readonly type: 'topic'; readonly topic: string };

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
 * - `close()` stops delivery and releases connections. The hub calls it from `hub.close()`.
 */
export interface Broker {
  start(deliver: (envelope: Envelope) => void): void | Promise<void>;
  publish(envelope: OutgoingEnvelope): string | Promise<string>;
  replay(lastEventId: string, filter: ReplayFilter): ReplayResult | Promise<ReplayResult>;
  close(): void | Promise<void>;
}

/** True when a connection with this filter should receive an event for `target`. */
export function matches(target: Target, filter: ReplayFilter): boolean {
  switch (target.type) {
    case 'all':
      return true;
    case 'client':
      return filter.clientId !== undefined && target.clientId === filter.clientId;
    case 'topic':
      return filter.topics.has(target.topic);
  }
}
