import { createClient } from 'redis';
import type { RawClient } from './connection.js';

// A client of its own to a server that is looked up at each connection: the master of a Sentinel group, or the
// master of a cluster slot. It never reconnects by itself: a lost socket, or a reply saying the server is no longer
// the right one, drops it, and its owner (connection.ts) makes a new one, which looks the server up again.

/** Where a {@link LocatedClient} connects, and which replies mean the server it found is no longer the right one. */
export interface Locator {
  /** The URL of the server to connect to now. */
  find(): Promise<string>;
  /** Throws when the server found is not what was asked for (a sentinel can answer before a failover is done). */
  check?(client: RawClient, url: string): Promise<void>;
  /** Error replies that drop the client, so that its owner reconnects to wherever the server is now. */
  readonly dropOn: RegExp;
  /** Called when such a reply dropped the client (a cluster forgets its slot map). */
  dropped?(): void;
}

type ClientSettings = Record<string, unknown>;
type Listener = { event: 'error' | 'connect'; listener: (error?: unknown) => void };

/** A node-redis client to the server its {@link Locator} finds when it connects. */
export class LocatedClient implements RawClient {
  private inner: RawClient | undefined;
  private connecting = false;
  private destroyed = false;
  // Kept so that listeners added before connect() reach the client made there.
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly locator: Locator,
    private readonly name: string,
    private readonly settings: ClientSettings,
  ) {}

  get isOpen(): boolean {
    return !this.destroyed && (this.connecting || (this.inner?.isOpen ?? false));
  }

  get isReady(): boolean {
    return !this.destroyed && (this.inner?.isReady ?? false);
  }

  async connect(): Promise<unknown> {
    this.connecting = true;
    try {
      const url = await this.locator.find();
      if (this.destroyed) throw new Error(`The connection was closed while it looked for its server (${url}).`);
      const inner = createClient({
        ...this.settings,
        url,
        name: this.name,
        socket: { reconnectStrategy: false },
      } as never) as unknown as RawClient;
      for (const { event, listener } of this.listeners) inner.on(event as 'error', listener);
      this.inner = inner;
      await inner.connect();
      await this.locator.check?.(inner, url);
      return undefined;
    } catch (error) {
      this.destroy();
      throw error;
    } finally {
      this.connecting = false;
    }
  }

  async sendCommand(args: readonly string[]): Promise<unknown> {
    const inner = this.inner;
    if (inner === undefined) throw new Error('Not connected.');
    try {
      return await inner.sendCommand(args);
    } catch (error) {
      if (error instanceof Error && this.locator.dropOn.test(error.message)) {
        this.locator.dropped?.();
        this.destroy();
        for (const { event, listener } of this.listeners) if (event === 'error') listener(error);
      }
      throw error;
    }
  }

  destroy(): void {
    this.destroyed = true;
    try {
      if (this.inner?.isOpen) this.inner.destroy();
    } catch {
      // Already torn down.
    }
  }

  on(event: 'error' | 'connect', listener: (error?: unknown) => void): this {
    this.listeners.push({ event, listener });
    this.inner?.on(event as 'error', listener);
    return this;
  }

  // The pub/sub methods of the server's client, for the resumable streams' subscriber connection.
  async subscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown> {
    return await this.pubSub().subscribe(channels, listener);
  }

  async unsubscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown> {
    return await this.pubSub().unsubscribe(channels, listener);
  }

  private pubSub(): PubSubMethods {
    const inner = this.inner as (RawClient & Partial<PubSubMethods>) | undefined;
    if (inner?.subscribe === undefined || inner.unsubscribe === undefined) throw new Error('Not connected.');
    return inner as PubSubMethods;
  }
}

interface PubSubMethods {
  subscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
}
