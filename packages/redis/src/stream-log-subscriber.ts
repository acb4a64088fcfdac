import { subscriberFactory } from './clients.js';
import { Connection, type ConnectionHooks, type RawClient } from './connection.js';
import type { RedisConnection } from './options.js';

/** The pub/sub part of a node-redis v5/v6 client. */
interface PubSubClient extends RawClient {
  subscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
}

/** What one channel's subscriber is told. */
export interface Subscription {
  message(text: string): void;
  /**
   * The subscription is in place on a (new) connection: messages published from now on arrive. Called again after
   * every reconnection; what was published while the connection was down is lost, so catch up from storage here.
   */
  active(): void;
}

/**
 * One pub/sub connection per broker, shared by every channel it listens to, replaced (and every channel
 * resubscribed) when it is lost. A PING from {@link ping} lets the connection's watchdog notice one that went silent.
 */
export class Subscriber {
  private readonly connection: Connection;
  private client: PubSubClient | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  // Of the current connection: channels whose subscription Redis confirmed, and those asked for (since when).
  private readonly confirmed = new Set<string>();
  private readonly requested = new Map<string, number>();
  private readonly dispatch = (message: string, channel: string): void => {
    this.subscriptions.get(channel)?.message(message);
  };

  constructor(
    redis: RedisConnection,
    /** On a cluster, the channel whose slot's master the connection goes to (every node hears every PUBLISH). */
    home: string,
    private readonly timeout: number,
    hooks: ConnectionHooks,
    private readonly report: (message: string, error: unknown) => void,
  ) {
    const create = subscriberFactory(redis, home);
    this.connection = new Connection(
      () => {
        // Every node-redis v5/v6 client has subscribe(), and so has the cluster's node client.
        const client = create() as PubSubClient;
        this.client = client;
        return client;
      },
      'subscriber',
      timeout,
      0,
      {
        up: (downFor) => {
          hooks.up(downFor);
          this.confirmed.clear();
          this.requested.clear();
          if (this.subscriptions.size > 0) this.subscribe([...this.subscriptions.keys()]);
        },
        down: (error) => hooks.down(error),
      },
    );
  }

  /** Channels listened to. */
  get size(): number {
    return this.subscriptions.size;
  }

  /** Listens to `channel` (one subscription per channel); `subscription.active()` says from when. */
  add(channel: string, subscription: Subscription): void {
    this.subscriptions.set(channel, subscription);
    this.connection.start().catch(noop);
    if (this.connection.isReady) this.subscribe([channel]);
  }

  remove(channel: string): void {
    if (!this.subscriptions.delete(channel)) return;
    this.confirmed.delete(channel);
    this.requested.delete(channel);
    const client = this.client;
    // A connection that is down has no subscriptions; its successor will not be given this one.
    if (this.connection.isReady && client !== undefined) client.unsubscribe([channel], this.dispatch).catch(noop);
  }

  /**
   * Called by the broker's timer. Sends a PING, so that a connection that went silent is noticed (by the command
   * timeout) and replaced, and asks again for any subscription Redis refused or left unconfirmed.
   */
  check(): void {
    if (!this.connection.isReady) return;
    this.connection.command(['PING']).catch(noop);
    const now = Date.now();
    const missing: string[] = [];
    for (const channel of this.subscriptions.keys()) {
      if (this.confirmed.has(channel)) continue;
      const since = this.requested.get(channel);
      if (since === undefined || now - since > this.timeout) missing.push(channel);
    }
    if (missing.length > 0) this.subscribe(missing);
  }

  close(): Promise<void> {
    this.subscriptions.clear();
    return this.connection.close();
  }

  private subscribe(channels: string[]): void {
    const client = this.client;
    if (client === undefined) return;
    const generation = this.connection.generation;
    const current = (): boolean => this.connection.isReady && this.connection.generation === generation;
    const now = Date.now();
    for (const channel of channels) this.requested.set(channel, now);
    client.subscribe(channels, this.dispatch).then(
      () => {
        // A subscription confirmed by a connection since replaced is not in place; the next one's `up` redoes it.
        if (!current()) return;
        for (const channel of channels) {
          const subscription = this.subscriptions.get(channel);
          if (subscription === undefined) continue;
          this.requested.delete(channel);
          this.confirmed.add(channel);
          subscription.active();
        }
      },
      (error: unknown) => {
        if (!current()) return;
        for (const channel of channels) this.requested.delete(channel);
        this.report('[ssekit] Redis refused a resumable-stream subscription; asking again.', error);
      },
    );
  }
}

function noop(): void {}
