import type { HubCounters } from './hub-stats.js';
import type { Registry } from './registry.js';
import type { CloseReason, SseStream } from './stream.js';
import { assertTopic } from './validate.js';

/** Hooks a hub installs on the streams it registers (through their writer). */
export interface StreamOwner {
  /** Called once when the stream ends, before the `close` event. */
  detach(stream: SseStream, reason: CloseReason): void;
  /** Counts bytes written and frames dropped. */
  account(bytes: number, dropped: number): void;
  /** Counts a heartbeat written. */
  heartbeat(): void;
  subscribe(stream: SseStream, topic: string): void;
  unsubscribe(stream: SseStream, topic: string): void;
}

/**
 * What the streams a hub registers call back (through their writer): no public member of the hub. Bytes, drops and
 * heartbeats go to its counters, topic changes to its registry, and a stream that ends to `detach`.
 */
export function streamOwner(
  registry: Registry,
  counters: HubCounters,
  detach: (stream: SseStream, reason: CloseReason) => void,
): StreamOwner {
  return {
    detach,
    account: (bytes, dropped) => {
      counters.bytesSent += bytes;
      counters.dropped += dropped;
    },
    heartbeat: () => {
      counters.detail.heartbeats++;
    },
    subscribe: (stream, topic) => {
      assertTopic(topic);
      if (stream.closed || stream.topics.has(topic)) return;
      registry.subscribe(stream, topic);
    },
    unsubscribe: (stream, topic) => {
      assertTopic(topic);
      registry.unsubscribe(stream, topic);
    },
  };
}
