import type { GapReason } from './broker-contract.js';
import type { Refusal } from './limits.js';
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

/** How a `Last-Event-ID` resume ended: replayed, answered with the reset event, or failed (broker unavailable). */
export type ResumeResult = 'replayed' | 'reset' | 'failed';

/** The reasons a resume gets the reset event (an unavailable broker ends the connection instead). */
export type ResetReason = Exclude<GapReason, 'unavailable'>;

/** Breakdowns the metrics report beside the totals of {@link HubStats} (not part of `stats()`). */
export interface HubDetail {
  /** Heartbeat comments written. */
  heartbeats: number;
  /** Refused connections, by the limit that refused them. */
  refusals: Record<Refusal, number>;
  /** `Last-Event-ID` resumes, by how they ended. */
  resumes: Record<ResumeResult, number>;
  /** Reset events sent, by reason. */
  resets: Record<ResetReason, number>;
}

/** The counters a hub moves itself; the other fields of {@link HubStats} are read from its registry. */
export type HubCounters = Omit<HubStats, 'connections' | 'clients' | 'topics'> & { detail: HubDetail };

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
    detail: {
      heartbeats: 0,
      refusals: { closed: 0, 'max-connections': 0, 'max-connections-per-client': 0 },
      resumes: { replayed: 0, reset: 0, failed: 0 },
      resets: { 'unknown-id': 0, expired: 0, 'invalid-id': 0 },
    },
  };
}

/** A snapshot: copies of the counters, and the registry's sizes. */
export function snapshot(counters: HubCounters, registry: Registry): HubStats {
  const { detail: _detail, ...totals } = counters;
  return {
    ...totals,
    closed: { ...counters.closed },
    connections: registry.connectionCount,
    clients: registry.clientCount,
    topics: registry.topicCount,
  };
}
