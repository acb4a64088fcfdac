import { createClient } from 'redis';
import type { RawClient } from './connection.js';
import { LocatedClient } from './located-client.js';
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
  return new LocatedClient(
    { find: () => masterUrl(sentinel), check: (client, url) => checkMaster(sentinel, client, url), dropOn: DROPPED },
    name,
    settings,
  );
}

const DROPPED = /^(READONLY|UNBLOCKED|LOADING|MASTERDOWN)\b/;

async function checkMaster(sentinel: RedisSentinelConnection, client: RawClient, url: string): Promise<void> {
  const role = (await client.sendCommand(['ROLE'])) as unknown[];
  if (!Array.isArray(role) || role[0] !== 'master') {
    throw new Error(`Sentinel named ${url} as the master of ${sentinel.name}, but it is a ${String(role?.[0])}.`);
  }
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
