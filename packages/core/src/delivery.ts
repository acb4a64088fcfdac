import type { ControlMessage, Envelope } from './broker-contract.js';
import type { Control } from './control.js';
import { flusher } from './flusher.js';
import { formatData } from './frame.js';
import type { HubCounters } from './hub-stats.js';
import { InOrder } from './in-order.js';
import { Lane } from './lane.js';
import type { Registry } from './registry.js';
import { writerOf } from './writer.js';

/**
 * What the broker hands a hub, delivered to the matching local connections: an event is framed once, the same bytes
 * for every connection; a broadcast goes into the {@link Lane}, which every stream takes when it is flushed; a
 * control message from another instance goes to {@link Control}. Events and controls are handled one at a time,
 * in the order the broker gave them (see {@link InOrder}), so that an event delivered before a disconnect still
 * reaches the connections it ends.
 */
export class Delivery {
  /** The hub's broadcasts not yet taken by every stream. */
  readonly lane: Lane;
  private readonly frames = new WeakMap<Envelope, Buffer>();
  private readonly inOrder: InOrder<Envelope | ControlMessage>;

  constructor(
    private readonly registry: Registry,
    private readonly counters: HubCounters,
    private readonly control: Control,
  ) {
    this.lane = new Lane(() => {
      for (const stream of registry.all) writerOf(stream).markForFlush();
    });
    this.inOrder = new InOrder((item) => ('action' in item ? control.apply(item) : this.deliverNow(item)));
  }

  /** The broker's `deliver` callback. */
  readonly deliver = (envelope: Envelope): void => {
    this.inOrder.push(envelope);
  };

  /** The broker's `onControl` callback. The hub's own messages are skipped. */
  readonly receiveControl = (message: ControlMessage): void => {
    if (this.control.isForeign(message)) this.inOrder.push(message);
  };

  /** The frame of an envelope, built once: a replay shares its bytes with live delivery. */
  readonly frameOf = (envelope: Envelope): Buffer => {
    let frame = this.frames.get(envelope);
    if (frame === undefined) {
      frame = Buffer.from(formatData(envelope.data, envelope.event, envelope.id, envelope.retry));
      this.frames.set(envelope, frame);
    }
    return frame;
  };

  private deliverNow(envelope: Envelope): void {
    const target = envelope.target;
    const streams = this.registry.lookup(target);
    if (streams === undefined || streams.size === 0) return;
    const frame = this.frameOf(envelope);
    const seq = flusher.next();
    const id = envelope.id;
    this.counters.delivered += streams.size;
    if (target.type === 'all') {
      // Kept once; every stream takes it when it is flushed, in time slices. Publishing then costs the same for ten
      // or ten thousand connections, and the fan-out never holds the event loop for longer than a slice.
      this.lane.append(frame, seq, id);
      return;
    }
    for (const stream of streams) writerOf(stream).enqueue(frame, seq, id);
  }
}
