import type { Registry } from './registry.js';
import type { CloseReason } from './stream.js';

/** Counters a hub keeps; `hub.stats()` returns a snapshot. */
export interface HubStats {
  /** Open connections. */
  connections: number;
  /** Distinct client ids with at least one open connection. */
  clients: number;
  /** Topics with at least one subscriber. */
  topics: number;
  /** Events the broker accepted from `send`, `publish` and `broadcast`. */
  published: number;
  /**
   * Events the broker refused (e.g. Redis unreachable). Each one rejected its `send`/`publish`/`broadcast` promise,
   * and is logged (at most one line per 5 s, each line counting the failures since the previous one, a last line at
   * `hub.close()`) even when nobody awaited that promise, which never crashes the process.
   */
  failed: number;
  /** Events delivered to local connections (one per connection). */
  delivered: number;
  /** Bytes handed to sockets, heartbeats and replays included. */
  bytesSent: number;
  /** Events replayed to resuming connections. */
  replayed: number;
  /** Resumes that hit a gap and got the reset event. */
  resets: number;
  /** Disconnect requests this hub handed to the broker for the other instances (control messages, not events). */
  disconnectsSent: number;
  /** Disconnect requests from other instances that reached this hub (the connections they ended: `closed.server`). */
  disconnectsReceived: number;
  /** Events that were queued for a connection when it ended and were not written (replayable from history). */
  dropped: number;
  /** Connections refused by `maxConnections` or `maxConnectionsPerClient`. */
  refused: number;
  /** Connections ended, by reason. */
  closed: Record<CloseReason, number>;
}

/** The counters a hub moves itself; the other fields of {@link HubStats} are read from its registry. */
export type HubCounters = Omit<HubStats, 'connections' | 'clients' | 'topics'>;

/** Fresh counters, all zero. */
export function createCounters(): HubCounters {
  return {
    published: 0,
    failed: 0,
    delivered: 0,
    bytesSent: 0,
    replayed: 0,
    resets: 0,
    disconnectsSent: 0,
    disconnectsReceived: 0,
    dropped: 0,
    refused: 0,
    closed: { client: 0, server: 0, timeout: 0, 'slow-consumer': 0, error: 0, shutdown: 0 },
  };
}

/** A snapshot: copies of the counters, and the registry's sizes. */
export function snapshot(counters: HubCounters, registry: Registry): HubStats {
  return {
    ...counters,
    closed: { ...counters.closed },
    connections: registry.all.size,
    clients: registry.clientCount,
    topics: registry.topicCount,
  };
}
