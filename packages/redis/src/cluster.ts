import { createClient, createCluster } from 'redis';
import type { RawClient } from './connection.js';
import { LocatedClient } from './located-client.js';
import type { RedisClusterConnection } from './options.js';
import { hashSlot } from './partition.js';

// Redis Cluster support. Publishes and replays go through node-redis' cluster client, which routes each command by
// its key and follows the cluster through failovers. A blocking XREAD cannot share a node's connection with other
// commands, and one XREAD reads keys of one slot only, so each partition's reader has a connection of its own to the
// master of its slot, found with CLUSTER SLOTS at each (re)connection.

type ClientSettings = Record<string, unknown>;

/** node-redis' cluster client as a {@link RawClient}: each command goes to the node of its key. */
export function clusterClient(cluster: RedisClusterConnection, name: string, settings: ClientSettings): RawClient {
  // node-redis 5 refreshes its slot map on a MOVED reply only, and its client of a killed master never gets one:
  // after a failover, the commands of that master's slots would fail for good; and a killed root node holds its
  // connect() forever while it retries. There, node clients do not reconnect (a dead root node fails at once and
  // the next is tried), and a command refused by a node client that is offline or closed drops the whole cluster
  // client, so that its owner opens a new one, which discovers the cluster anew. node-redis 6 (whose cluster
  // client has isReady) refreshes the map itself when a node client reconnects.
  const refreshesItself = clusterRefreshesItself();
  const client = createCluster({
    rootNodes: cluster.rootNodes.map((node) => ({ url: node.url })),
    defaults: {
      ...settings,
      name,
      ...(refreshesItself ? {} : { socket: { reconnectStrategy: false, connectTimeout: 2000 } }),
    } as never,
    RESP: 2,
  });
  const errorListeners: ((error: unknown) => void)[] = [];
  // Set when this wrapper drops the client: node-redis 5 says isOpen until its destroy() has run its course.
  let dropped = false;
  return {
    get isOpen() {
      return !dropped && client.isOpen;
    },
    get isReady() {
      return !dropped && (refreshesItself ? client.isReady : client.isOpen);
    },
    connect: () => client.connect(),
    async sendCommand(args: readonly string[]) {
      try {
        return await client.sendCommand(firstKey(args), false, args as string[]);
      } catch (error) {
        if (
          !refreshesItself &&
          error instanceof Error &&
          /client is (offline|closed)/i.test(error.message) &&
          !dropped
        ) {
          dropped = true;
          try {
            client.destroy();
          } catch {
            // node-redis 5 refuses to destroy a cluster client whose node clients are all closed already.
          }
          for (const listener of errorListeners) listener(error);
        }
        throw error;
      }
    },
    destroy() {
      try {
        client.destroy();
      } catch {
        // Already torn down.
      }
    },
    on(event: 'error' | 'connect', listener: (error?: unknown) => void) {
      if (event === 'error') errorListeners.push(listener);
      client.on(event === 'error' ? 'error' : 'connect', listener as (error: unknown) => void);
      return this;
    },
  } as RawClient;
}

let refreshes: boolean | undefined;

/** Whether the installed node-redis' cluster client follows a failover by itself (6: yes, 5: no). */
function clusterRefreshesItself(): boolean {
  refreshes ??= 'isReady' in createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
  return refreshes;
}

/** The key a command of this package routes by (`undefined` for TIME, which any node answers). */
function firstKey(args: readonly string[]): string | undefined {
  const command = args[0]?.toUpperCase();
  if (command === 'EVALSHA' || command === 'EVAL') return args[3];
  if (command === 'TIME') return undefined;
  return args[1];
}

/**
 * A client of its own to the master that holds `key`'s slot, looked up when it connects. A reply saying the slot
 * moved (a failover, a resharding) drops it, so its owner reconnects to the new master.
 */
export function clusterNodeClient(
  cluster: RedisClusterConnection,
  key: string,
  name: string,
  settings: ClientSettings,
): RawClient {
  const slot = hashSlot(key);
  return new LocatedClient(
    { find: () => masterUrl(cluster, slot), dropOn: MOVED_AWAY, dropped: () => forget(cluster) },
    name,
    settings,
  );
}

const MOVED_AWAY = /^(MOVED|CLUSTERDOWN|READONLY|LOADING|MASTERDOWN)\b/;

// The slot map of each cluster, shared by its readers for a moment: readers that start together ask once.
const topologies = new WeakMap<RedisClusterConnection, { at: number; masters: Promise<SlotRange[]> }>();
const TOPOLOGY_TTL = 1000;

interface SlotRange {
  readonly from: number;
  readonly to: number;
  readonly url: string;
  readonly nodes: readonly string[];
}

function forget(cluster: RedisClusterConnection): void {
  topologies.delete(cluster);
}

async function masterUrl(cluster: RedisClusterConnection, slot: number): Promise<string> {
  let known = topologies.get(cluster);
  if (known === undefined || Date.now() - known.at > TOPOLOGY_TTL) {
    known = {
      at: Date.now(),
      masters: slotRanges(cluster, known === undefined ? [] : await known.masters.catch(() => [])),
    };
    known.masters.catch(() => forget(cluster));
    topologies.set(cluster, known);
  }
  const range = (await known.masters).find((r) => r.from <= slot && slot <= r.to);
  if (range === undefined) {
    forget(cluster);
    throw new Error(`No master of the Redis Cluster serves slot ${slot} (the cluster is failing over or incomplete).`);
  }
  return range.url;
}

/** Asks the nodes of the last map, then the root nodes, for CLUSTER SLOTS: the first that answers wins. */
async function slotRanges(cluster: RedisClusterConnection, last: readonly SlotRange[]): Promise<SlotRange[]> {
  const template = cluster.rootNodes[0]?.url as string;
  const candidates = [...new Set([...last.flatMap((r) => r.nodes), ...cluster.rootNodes.map((n) => n.url)])];
  let lastError: unknown;
  for (const url of candidates) {
    const client = createClient({ url, RESP: 2, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const reply = (await client.sendCommand(['CLUSTER', 'SLOTS'])) as unknown[];
      return parseSlots(reply, template);
    } catch (error) {
      lastError = error;
    } finally {
      if (client.isOpen) client.destroy();
    }
  }
  throw new Error(`No node of the Redis Cluster answered CLUSTER SLOTS: ${String(lastError)}`);
}

function parseSlots(reply: unknown[], template: string): SlotRange[] {
  const ranges: SlotRange[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || item.length < 3) continue;
    const nodes = item.slice(2).map((node: unknown) => {
      const [host, port] = node as [string, number];
      const url = new URL(template);
      url.hostname = host;
      url.port = String(port);
      return url.toString();
    });
    ranges.push({ from: Number(item[0]), to: Number(item[1]), url: nodes[0] as string, nodes });
  }
  return ranges;
}
