import { SseTypeError } from '@ssekit/core';
import { createClient } from 'redis';
import { clusterClient, clusterNodeClient } from './cluster.js';
import type { RawClient } from './connection.js';
import type { RedisConnection } from './options.js';
import { sentinelClient } from './sentinel.js';

// Settings every broker connection gets, whatever the template client says:
// - reconnection off: Connection replaces lost clients itself (see connection.ts);
// - no offline queue: a command while Redis is down fails at once instead of piling up in memory;
// - RESP2 and no type mapping: replies have the plain shapes the codec reads (XREAD is a map in RESP3);
// - no client-side cache, invalidation or maintenance push messages, which need RESP3.
const FIXED = {
  disableOfflineQueue: true,
  RESP: 2,
  commandOptions: undefined,
  clientSideCache: undefined,
  emitInvalidate: undefined,
  pingInterval: undefined,
  maintNotifications: 'disabled',
} as const;

/**
 * A factory of fresh node-redis clients for one broker connection (`role` names it in `CLIENT LIST`:
 * `ssekit-publish`, `ssekit-reader`).
 */
export function clientFactory(connection: RedisConnection, role: string): () => RawClient {
  const name = `ssekit-${role}`;
  if ('cluster' in connection) return () => clusterClient(connection.cluster, name, FIXED);
  if ('sentinel' in connection) return () => sentinelClient(connection.sentinel, name, FIXED);
  if ('url' in connection) {
    const url = connection.url;
    return () => asRawClient(createClient({ url, name, socket: { reconnectStrategy: false }, ...FIXED }));
  }
  const template = connection.client;
  return () => {
    const options = (template as { options?: { socket?: object } }).options;
    const socket = { ...(options?.socket ?? {}), reconnectStrategy: false };
    const duplicate = template.duplicate as unknown as (overrides: object) => unknown;
    return asRawClient(duplicate.call(template, { ...FIXED, name, socket }));
  };
}

/**
 * A factory of fresh clients for the blocking reader of the stream `key` (`ssekit-reader` in `CLIENT LIST`): on a
 * cluster, a connection of its own to the master that holds the key's slot, found anew at each connection.
 */
export function readerFactory(connection: RedisConnection, key: string): () => RawClient {
  if ('cluster' in connection) return () => clusterNodeClient(connection.cluster, key, 'ssekit-reader', FIXED);
  return clientFactory(connection, 'reader');
}

/**
 * A factory of fresh clients for the resumable streams' pub/sub connection (`ssekit-subscriber`). On a cluster, a
 * classic PUBLISH reaches every node, so one connection to one node hears them all: the master that serves
 * `channel`'s slot, found anew at each connection (a failover moves it to the new master). node-redis' cluster
 * client cannot be used here: its `subscribe()` is its own connection with its own reconnection, outside this
 * package's watchdog and resubscription.
 */
export function subscriberFactory(connection: RedisConnection, channel: string): () => RawClient {
  if ('cluster' in connection) return () => clusterNodeClient(connection.cluster, channel, 'ssekit-subscriber', FIXED);
  return clientFactory(connection, 'subscriber');
}

function asRawClient(client: unknown): RawClient {
  const c = client as Partial<RawClient> | null;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.connect !== 'function' ||
    typeof c.sendCommand !== 'function' ||
    typeof c.destroy !== 'function' ||
    typeof c.on !== 'function'
  ) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      '`client.duplicate()` did not return a node-redis v5 client; pass a client from `createClient()` of redis@5.',
    );
  }
  return c as RawClient;
}
