import { createMemoryBroker, type MemoryBrokerOptions } from '@ssekit/core';
import type {
  Broker,
  ControlMessage,
  Envelope,
  OutgoingEnvelope,
  ReplayFilter,
  ReplayResult,
} from '@ssekit/core/broker';

/**
 * A memory broker whose `replay()` is asynchronous and waits at a gate the test opens, so events can be published
 * while a resuming connection's replay is in flight (as with Redis, where the replay is a network round trip).
 * `snapshot: 'before'` reads history when the replay starts (events published at the gate are NOT in the replay,
 * they must arrive live); `'after'` reads it when the gate opens (they are in the replay AND were delivered live, so
 * the hub must drop the live copies).
 */
export interface GatedReplayBroker extends Broker {
  /** Replays started and still waiting at the gate. */
  readonly waiting: number;
  /** Resolves once a replay is waiting at the gate. */
  replayStarted(): Promise<void>;
  /** Lets every waiting replay (and every later one) finish. */
  open(): void;
}

export function gatedReplayBroker(snapshot: 'before' | 'after', options: MemoryBrokerOptions = {}): GatedReplayBroker {
  const inner = createMemoryBroker(options);
  let release: () => void = () => undefined;
  let opened = false;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const started: (() => void)[] = [];
  let waiting = 0;
  return {
    get waiting() {
      return waiting;
    },
    replayStarted() {
      if (waiting > 0) return Promise.resolve();
      return new Promise<void>((resolve) => started.push(resolve));
    },
    open() {
      opened = true;
      release();
    },
    start: (deliver: (envelope: Envelope) => void) => inner.start(deliver),
    publish: (envelope: OutgoingEnvelope) => inner.publish(envelope),
    async replay(lastEventId: string, filter: ReplayFilter): Promise<ReplayResult> {
      const early = snapshot === 'before' ? inner.replay(lastEventId, filter) : undefined;
      if (!opened) {
        waiting++;
        for (const notify of started.splice(0)) notify();
        await gate;
        waiting--;
      }
      return early ?? inner.replay(lastEventId, filter);
    },
    close: () => inner.close(),
  };
}

/**
 * `count` brokers on one in-memory log, as instances share one Redis stream, but in one process and synchronous:
 * what one hub publishes (or sends as a control message) reaches every hub started on them, its own included, at
 * once and in order; any of them replays the shared history. Lets core tests check what several instances do
 * without Redis.
 */
export function sharedMemoryBrokers(count: number, options: MemoryBrokerOptions = {}): Broker[] {
  const inner = createMemoryBroker(options);
  const hubs = new Set<{ deliver: (envelope: Envelope) => void; onControl?: (message: ControlMessage) => void }>();
  inner.start(
    (envelope) => {
      for (const hub of [...hubs]) hub.deliver(envelope);
    },
    (message) => {
      for (const hub of [...hubs]) hub.onControl?.(message);
    },
  );
  return Array.from({ length: count }, (): Broker => {
    const hub: { deliver: (envelope: Envelope) => void; onControl?: (message: ControlMessage) => void } = {
      deliver: () => undefined,
    };
    return {
      start(deliver, onControl) {
        hub.deliver = deliver;
        hub.onControl = onControl;
        hubs.add(hub);
      },
      publish: (envelope) => inner.publish(envelope),
      control: (message) => inner.control(message),
      replay: (lastEventId, filter) => inner.replay(lastEventId, filter),
      close: () => {
        hubs.delete(hub);
      },
    };
  });
}
