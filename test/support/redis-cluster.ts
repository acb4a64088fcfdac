import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redisCommand } from './redis.js';
import { RedisProcesses, startedForSuite } from './redis-processes.js';
import { freePort } from './server.js';
import { sleep } from './wait.js';

// A real Redis Cluster for the tests: six `redis-server` processes (three masters, one replica each) on free ports,
// joined with `redis-cli --cluster create`, without persistence.
//
// What makes a killed master's replica take over within seconds, even on a loaded 2-core machine:
// - the cluster is handed over only once every replica has finished its first sync (`master_link_status:up`):
//   a replica still syncing counts as "disconnected from its master" and refuses to fail over ("Disconnected from
//   master for longer than allowed" in its log) — with `repl-diskless-sync-delay`'s default of 5 s, a master
//   killed in the first seconds of a suite was never replaced;
// - `repl-diskless-sync-delay 0`: that first sync starts at once;
// - `cluster-replica-validity-factor 0`: a replica fails over however long ago it last heard from its master (a
//   starved machine can delay the master's pings), so the tests see a failover, not Redis' data-age policy;
// - `cluster-node-timeout 2000`: long enough that a node starved of CPU for a moment is not voted down by the
//   others, short enough that the failure is noticed in about two seconds.
// Each node logs to a file; a failure to start or to fail over includes the tail of the logs.

/** A running cluster. */
export interface RedisClusterServers {
  readonly urls: string[];
  /** The URLs of the current masters. */
  masters(): Promise<string[]>;
  /** The URL of the master that serves `key`'s slot, as the live nodes report it. */
  masterOf(key: string): Promise<string>;
  /** SIGKILLs the node at `url` (no shutdown, no save). */
  kill(url: string): Promise<void>;
  /**
   * Waits until every live node reports `cluster_state:ok` and that every slot is served by a live master (after
   * a kill: until the replica has taken over). Throws with the nodes' log tails after `timeout` ms.
   */
  waitUntilOk(timeout?: number): Promise<void>;
  close(): Promise<void>;
}

const run = promisify(execFile);
const NODE_TIMEOUT = 2000;

/**
 * A cluster for the tests of the calling describe block: started in `beforeAll`, closed in `afterAll` — also when
 * `beforeAll` timed out while it was starting (its nodes are then closed once the start settles).
 */
export function redisClusterForSuite(timeout = 60_000): () => RedisClusterServers {
  return startedForSuite('The Redis Cluster', startRedisCluster, timeout);
}

export async function startRedisCluster(): Promise<RedisClusterServers> {
  const processes = new RedisProcesses('ssekit-cluster-');
  const logs = () => processes.logs();
  try {
    for (let i = 0; i < 6; i++) await processes.start((port) => nodeArgs(processes.dir, port), clusterPort);
    const urls = processes.urls;
    await run(
      'redis-cli',
      ['--cluster', 'create', ...urls.map((u) => new URL(u).host), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 30_000 },
    );
    const servers: RedisClusterServers = {
      urls,
      async masters() {
        const masters: string[] = [];
        for (const url of processes.urls) {
          const info = await redisCommand(url, ['ROLE'], 1000).catch(() => undefined);
          if (Array.isArray(info) && info[0] === 'master') masters.push(url);
        }
        return masters;
      },
      async masterOf(key) {
        for (const url of processes.urls) {
          const slot = await redisCommand(url, ['CLUSTER', 'KEYSLOT', key], 1000).catch(() => undefined);
          const ranges = await slotRanges(url);
          const owner = ranges?.find((r) => r.from <= Number(slot) && Number(slot) <= r.to)?.master;
          if (owner !== undefined) return owner;
        }
        throw new Error(`No live node of the cluster said which master serves ${key}.`);
      },
      kill: (url) => processes.kill(url),
      async waitUntilOk(timeout = 30_000) {
        const deadline = Date.now() + timeout;
        while (!(await healthy(processes.urls))) {
          if (Date.now() > deadline) {
            throw new Error(`The Redis Cluster did not recover within ${timeout} ms. Node logs:\n${logs()}`);
          }
          await sleep(100);
        }
      },
      close: () => processes.close(),
    };
    // Handed over only once it can fail over: every node agrees, every replica has its master's data.
    const deadline = Date.now() + 30_000;
    while (!(await healthy(urls)) || !(await replicasSynced(urls))) {
      if (Date.now() > deadline) throw new Error(`The Redis Cluster did not form within 30 s. Node logs:\n${logs()}`);
      await sleep(100);
    }
    return servers;
  } catch (error) {
    await processes.close();
    throw error;
  }
}

/** The arguments of one node: no persistence, and the timings the comment at the top explains. */
function nodeArgs(dir: string, port: number): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    String(NODE_TIMEOUT),
    '--cluster-replica-validity-factor',
    '0',
    '--repl-diskless-sync-delay',
    '0',
    '--repl-ping-replica-period',
    '1',
    '--appendonly',
    'no',
    '--save',
    '',
    '--dir',
    dir,
    '--logfile',
    join(dir, `node-${port}.log`),
    '--loglevel',
    'notice',
  ];
}

/**
 * A free port whose cluster bus port (+10000) is free too and valid: Linux hands out ephemeral ports up to 60999,
 * and a Redis port above 55535 has no bus port at all.
 */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port <= 55535 && (await canListen(port + 10000))) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

interface SlotRange {
  readonly from: number;
  readonly to: number;
  readonly master: string;
}

async function slotRanges(url: string): Promise<SlotRange[] | undefined> {
  const reply = await redisCommand(url, ['CLUSTER', 'SLOTS'], 1000).catch(() => undefined);
  if (!Array.isArray(reply)) return undefined;
  return reply.map((item) => {
    const [from, to, [host, port]] = item as [number, number, [string, number]];
    return { from, to, master: `redis://${host}:${port}` };
  });
}

/** Every node says `cluster_state:ok`, and every slot it knows of is served by one of `urls`. */
async function healthy(urls: string[]): Promise<boolean> {
  const views = await Promise.all(
    urls.map(async (url) => ({
      info: String(await redisCommand(url, ['CLUSTER', 'INFO'], 1000).catch(() => '')),
      ranges: await slotRanges(url),
    })),
  );
  return views.every(
    ({ info, ranges }) =>
      info.includes('cluster_state:ok') &&
      info.includes('cluster_slots_ok:16384') &&
      ranges?.every((r) => urls.includes(r.master)) === true,
  );
}

async function replicasSynced(urls: string[]): Promise<boolean> {
  const infos = await Promise.all(
    urls.map(async (url) => String(await redisCommand(url, ['INFO', 'replication'], 1000).catch(() => ''))),
  );
  const replicas = infos.filter((info) => info.includes('role:slave'));
  return replicas.length === 3 && replicas.every((info) => info.includes('master_link_status:up'));
}
