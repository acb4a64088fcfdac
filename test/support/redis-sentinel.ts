import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redisCommand } from './redis.js';
import { RedisProcesses, startedForSuite } from './redis-processes.js';
import { sleep } from './wait.js';

// Redis Sentinel for the tests: a master, one replica (`--replicaof`) and three sentinels (`redis-server <conf>
// --sentinel`, quorum 2), all on free 127.0.0.1 ports, without persistence. `down-after-milliseconds 1000`, so a
// killed master is replaced within a few seconds. Handed over once the replica has synced and every sentinel
// knows the replica and the other sentinels (before that, a sentinel could not fail over). Each process logs to a
// file; a failure includes the tail of the logs.

export const SENTINEL_MASTER = 'ssekit';

/** A running master, replica and sentinels. */
export interface RedisSentinelServers {
  readonly sentinelUrls: string[];
  /** The URL of the server the sentinels name as the master. */
  master(): Promise<string>;
  /** SIGKILLs the server at `url`. */
  kill(url: string): Promise<void>;
  /** Waits until the sentinels name a live master other than `old`, and that server answers ROLE as master. */
  waitForFailover(old: string, timeout?: number): Promise<string>;
  close(): Promise<void>;
}

/** Master, replica and sentinels for the calling describe block; closed in afterAll even after a timed-out start. */
export function redisSentinelForSuite(timeout = 60_000): () => RedisSentinelServers {
  return startedForSuite('Redis Sentinel', startRedisSentinel, timeout);
}

export async function startRedisSentinel(): Promise<RedisSentinelServers> {
  const processes = new RedisProcesses('ssekit-sentinel-');
  const { dir } = processes;
  const logs = () => processes.logs();
  const server = (extra: string[]) => (port: number) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--repl-diskless-sync-delay',
    '0',
    '--dir',
    dir,
    '--logfile',
    join(dir, `server-${port}.log`),
    ...extra,
  ];
  try {
    const master = await processes.start(server([]));
    const masterPort = new URL(master).port;
    const replica = await processes.start(server(['--replicaof', '127.0.0.1', masterPort]));
    const sentinelUrls: string[] = [];
    for (let i = 0; i < 3; i++) {
      sentinelUrls.push(
        await processes.start((port) => {
          const conf = join(dir, `sentinel-${port}.conf`);
          writeFileSync(
            conf,
            [
              `port ${port}`,
              'bind 127.0.0.1',
              `dir ${dir}`,
              `logfile ${join(dir, `sentinel-${port}.log`)}`,
              `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${masterPort} 2`,
              `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
              `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
              `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
              '',
            ].join('\n'),
          );
          return [conf, '--sentinel'];
        }),
      );
    }
    const masterOf = async (url: string): Promise<string | undefined> => {
      const reply = await redisCommand(url, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER], 1000).catch(
        () => undefined,
      );
      return Array.isArray(reply) ? `redis://${reply[0]}:${reply[1]}` : undefined;
    };
    const servers: RedisSentinelServers = {
      sentinelUrls,
      async master() {
        for (const url of sentinelUrls) {
          const found = await masterOf(url);
          if (found !== undefined) return found;
        }
        throw new Error('No sentinel named the master.');
      },
      kill: (url) => processes.kill(url),
      async waitForFailover(old, timeout = 30_000) {
        const deadline = Date.now() + timeout;
        for (;;) {
          const named = await Promise.all(sentinelUrls.map(masterOf));
          const candidate = named[0];
          if (candidate !== undefined && candidate !== old && named.every((n) => n === candidate)) {
            const role = await redisCommand(candidate, ['ROLE'], 1000).catch(() => undefined);
            if (Array.isArray(role) && role[0] === 'master') return candidate;
          }
          if (Date.now() > deadline) throw new Error(`No failover within ${timeout} ms. Logs:\n${logs()}`);
          await sleep(100);
        }
      },
      close: () => processes.close(),
    };
    // Handed over once a failover can happen: the replica has synced, and every sentinel knows it and the others.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const info = String(await redisCommand(replica, ['INFO', 'replication'], 1000).catch(() => ''));
      const views = await Promise.all(
        sentinelUrls.map(async (url) => {
          const replicas = await redisCommand(url, ['SENTINEL', 'REPLICAS', SENTINEL_MASTER], 1000).catch(() => []);
          const others = await redisCommand(url, ['SENTINEL', 'SENTINELS', SENTINEL_MASTER], 1000).catch(() => []);
          return (replicas as unknown[]).length === 1 && (others as unknown[]).length === 2;
        }),
      );
      if (info.includes('master_link_status:up') && views.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`Redis Sentinel did not form within 30 s. Logs:\n${logs()}`);
      await sleep(100);
    }
    return servers;
  } catch (error) {
    await processes.close();
    throw error;
  }
}
