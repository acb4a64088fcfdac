import { createClient } from 'redis';
import type { RawClient } from './connection.js';
import type { RedisSentinelConnection } from './options.js';

// Redis Sentinel support. Each broker connection asks the sentinels where the master of `name` is when it
// connects, checks with ROLE that the server there is a master (a sentinel can answer before a failover is done),
// and is dropped, so that its owner reconnects and asks again, when the socket is lost or the server answers as a
// replica (READONLY, or UNBLOCKED for a blocked read when a master is turned into a replica). node-redis'
// createSentinel() is not used: it reconnects on its own and pools clients behind its own sendCommand(), which the
// broker's watchdog, its blocking readers and its resubscription cannot be built on.

type ClientSettings = Record<string, unknown>;

/** A client of its own to the current master, found through the sentinels when it connects. */
export function sentinelClient(sentinel: RedisSentinelConnection, name: string, settings: ClientSettings): RawClient {
  return new SentinelMasterClient(sentinel, name, settings);
}

const DROPPED = /^(READONLY|UNBLOCKED|LOADING|MASTERDOWN)\b/;

class SentinelMasterClient implements RawClient {
  private inner: RawClient | undefined;
  private connecting = false;
  private destroyed = false;
  private readonly listeners: { event: 'error' | 'connect'; listener: (error?: unknown) => void }[] = [];

  constructor(
    private readonly sentinel: RedisSentinelConnection,
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
      const url = await masterUrl(this.sentinel);
      if (this.destroyed) throw new Error('The connection was closed while it looked for the master.');
      const inner = createClient({
        ...this.settings,
        url,
        name: this.name,
        socket: { reconnectStrategy: false },
      } as never) as unknown as RawClient;
      for (const { event, listener } of this.listeners) inner.on(event as 'error', listener);
      this.inner = inner;
      await inner.connect();
      const role = (await inner.sendCommand(['ROLE'])) as unknown[];
      if (!Array.isArray(role) || role[0] !== 'master') {
        throw new Error(
          `Sentinel named ${url} as the master of ${this.sentinel.name}, but it is a ${String(role?.[0])}.`,
        );
      }
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
      if (error instanceof Error && DROPPED.test(error.message)) {
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

  // The pub/sub methods of the master's client, for the resumable streams' subscriber connection.
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

/**
 * Asks the sentinels in turn for the master's address: the first that knows it wins. The master's URL keeps the
 * scheme, credentials and database of `nodeUrl`.
 */
async function masterUrl(sentinel: RedisSentinelConnection): Promise<string> {
  let lastError: unknown;
  for (const node of sentinel.sentinelRootNodes) {
    const client = createClient({ url: node.url, RESP: 2, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const reply = (await client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', sentinel.name])) as
        | [string, string]
        | null;
      if (!Array.isArray(reply)) {
        lastError = new Error(`Sentinel ${node.url} does not monitor a master named ${sentinel.name}.`);
        continue;
      }
      const url = new URL(sentinel.nodeUrl ?? 'redis://');
      url.hostname = reply[0];
      url.port = reply[1];
      return url.toString();
    } catch (error) {
      lastError = error;
    } finally {
      if (client.isOpen) client.destroy();
    }
  }
  throw new Error(`No sentinel said where the master ${sentinel.name} is: ${String(lastError)}`);
}
