import { randomBytes } from 'node:crypto';
import type { Broker, ControlMessage } from './broker-contract.js';
import type { HubCounters } from './hub-stats.js';
import type { Registry } from './registry.js';
import { writerOf } from './writer.js';

/**
 * The hub's control messages: a disconnect it hands to the broker for the other instances, and the disconnects
 * they send that it acts on. A hub names itself in what it sends (`origin`) and skips its own copy: it ended its
 * connections at once, and acting again would end a connection the same client opened meanwhile.
 */
export class Control {
  private readonly origin = randomBytes(8).toString('hex');

  constructor(
    private readonly broker: Broker,
    private readonly registry: Registry,
    private readonly counters: HubCounters,
  ) {}

  /** Ends this instance's connections of `clientId` (reason `server`); returns how many. */
  endClient(clientId: string, retry: number | undefined): number {
    const streams = this.registry.ofClient(clientId);
    if (streams === undefined) return 0;
    const list = [...streams];
    for (const stream of list) writerOf(stream).end('server', undefined, retry);
    return list.length;
  }

  /** Hands a disconnect to the broker, for the other instances. Never throws: a failure is the promise's. */
  tellOthers(clientId: string, retry: number | undefined): Promise<void> {
    if (this.broker.control === undefined) return Promise.resolve();
    const message: ControlMessage = { action: 'disconnect', clientId, retry, origin: this.origin };
    this.counters.disconnectsSent++;
    try {
      return Promise.resolve(this.broker.control(message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** True for a message from the broker this hub acts on: an object, and not its own. */
  isForeign(message: unknown): message is ControlMessage {
    return message !== null && typeof message === 'object' && (message as ControlMessage).origin !== this.origin;
  }

  /** Acts on a control message from another instance. */
  apply(message: ControlMessage): void {
    // Checked here too: a custom broker may hand over anything, and `retry` ends up in the bytes sent to clients.
    if (message.action !== 'disconnect' || typeof message.clientId !== 'string') return;
    this.counters.disconnectsReceived++;
    const retry = message.retry;
    const hint = typeof retry === 'number' && Number.isSafeInteger(retry) && retry >= 0 ? retry : undefined;
    this.endClient(message.clientId, hint);
  }
}
