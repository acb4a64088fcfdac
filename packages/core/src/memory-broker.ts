import { randomBytes } from 'node:crypto';
import type {
  Broker,
  ControlMessage,
  Envelope,
  OutgoingEnvelope,
  ReplayFilter,
  ReplayResult,
} from './broker-contract.js';
import { SseError } from './errors.js';
import { History, type HistoryOptions } from './history.js';
import { MemoryStreamLog, type MemoryStreamLogOptions } from './memory-stream-log.js';
import { assertKnownOptions } from './validate.js';

/** Options of {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /** History kept for `Last-Event-ID` resume; `false` keeps none (every resume is a gap). Default `{ size: 1000 }`. */
  history?: HistoryOptions | false;
  /** Options of its store of resumable streams (`streams`): the producer lease and the tombstone time. */
  streams?: MemoryStreamLogOptions;
}

/**
 * The embedded default broker: delivers each event back to its hub at once, in the same tick, and keeps a bounded
 * history for resume. Ids are `<prefix>-<counter>`: short, ordered within the process, and recognisably foreign
 * after a restart (a new prefix), so a stale `Last-Event-ID` is reported as a gap, never misread.
 * Control messages (a disconnect) are handed back to the hub the same way, and kept out of history. Resumable
 * streams are kept in a {@link MemoryStreamLog} (`streams`).
 *
 * A publish's `idempotencyKey` is ignored: this broker's publish cannot fail once it started (it stores and delivers
 * in the same call), so no attempt ever needs repeating, and an app that publishes again with the same key on
 * purpose gets a second event. The key makes retries safe on brokers where a publish can fail after it was stored
 * (`@ssekit/redis`).
 */
export class MemoryBroker implements Broker {
  private deliver: ((envelope: Envelope) => void) | undefined;
  private onControl: ((message: ControlMessage) => void) | undefined;
  private readonly history: History | undefined;
  /** The in-memory store of resumable streams. */
  readonly streams: MemoryStreamLog;
  private readonly prefix = randomBytes(3).toString('hex');
  private counter = 0;
  private closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    assertKnownOptions('the memory broker', options, ['history', 'streams']);
    this.history = options.history === false ? undefined : new History(options.history ?? {});
    this.streams = new MemoryStreamLog(options.streams);
  }

  start(deliver: (envelope: Envelope) => void, onControl?: (message: ControlMessage) => void): void {
    this.deliver = deliver;
    this.onControl = onControl;
  }

  publish(outgoing: OutgoingEnvelope): string {
    if (this.closed) throw closedError();
    const id = outgoing.id ?? `${this.prefix}-${++this.counter}`;
    const envelope: Envelope = outgoing.id === undefined ? { ...outgoing, id } : (outgoing as Envelope);
    this.history?.append(envelope);
    this.deliver?.(envelope);
    return id;
  }

  /** Hands the control to the hub at once. It takes no id and no place in history: nothing to replay. */
  control(message: ControlMessage): void {
    if (this.closed) throw closedError();
    this.onControl?.(message);
  }

  replay(lastEventId: string, filter: ReplayFilter): ReplayResult {
    if (this.history === undefined) return { ok: false, reason: 'unknown-id' };
    return this.history.after(lastEventId, filter, (id) => this.issuedBefore(id));
  }

  close(): void {
    this.closed = true;
    this.streams.close();
    this.deliver = undefined;
    this.onControl = undefined;
  }

  /** True for an id this broker issued that has since left history. */
  private issuedBefore(id: string): boolean {
    if (!id.startsWith(`${this.prefix}-`)) return false;
    const n = Number(id.slice(this.prefix.length + 1));
    return Number.isSafeInteger(n) && n > 0 && n <= this.counter;
  }
}

function closedError(): SseError {
  return new SseError('SSE_HUB_CLOSED', 'The broker is closed: this hub no longer accepts events.');
}

/** Creates the in-memory broker (what `createHub()` uses when given none). */
export function createMemoryBroker(options?: MemoryBrokerOptions): MemoryBroker {
  return new MemoryBroker(options);
}
