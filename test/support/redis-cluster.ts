import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redisCommand, redisServerPath } from './redis.js';
import { freePort } from './server.js';
import { sleep } from './wait.js';

// A real Redis Cluster for the tests: six `redis-server` processes (three masters, one replica each) on free ports,
// joined with `redis-cli --cluster create`, without persistence. `cluster-node-timeout` is short so that a killed
// master's replica takes over within a few seconds.

/** A running cluster. */
export interface RedisClusterServers {
  readonly urls: string[];
  /** The URLs of the current masters. */
  masters(): Promise<string[]>;
  /** SIGKILLs the node at `url` (no shutdown, no save). */
  kill(url: string): Promise<void>;
  /** Waits until every live node reports `cluster_state:ok`. */
  waitUntilOk(timeout?: number): Promise<void>;
  close(): Promise<void>;
}

const run = promisify(execFile);

export async function startRedisCluster(): Promise<RedisClusterServers> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error('redis-server is not installed.');
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-cluster-'));
  const children = new Map<string, ChildProcess>();
  const killAll = () => {
    for (const child of children.values()) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const close = async () => {
    process.off('exit', killAll);
    await Promise.all([...children.values()].map((child) => stop(child)));
    children.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < 6; i++) ports.push(await freePort());
    for (const port of ports) {
      const child = spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '1000',
          '--appendonly',
          'no',
          '--save',
          '',
          '--dir',
          dir,
          '--logfile',
          '',
          '--loglevel',
          'warning',
        ],
        { stdio: 'ignore' },
      );
      children.set(`redis://127.0.0.1:${port}`, child);
    }
    for (const port of ports) await untilPing(port);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    const servers: RedisClusterServers = {
      urls: ports.map((p) => `redis://127.0.0.1:${p}`),
      async masters() {
        const masters: string[] = [];
        for (const url of children.keys()) {
          const info = await redisCommand(url, ['ROLE'], 1000).catch(() => undefined);
          if (Array.isArray(info) && info[0] === 'master') masters.push(url);
        }
        return masters;
      },
      async kill(url) {
        const child = children.get(url);
        children.delete(url);
        if (child !== undefined) await stop(child);
      },
      async waitUntilOk(timeout = 20_000) {
        const deadline = Date.now() + timeout;
        for (;;) {
          const states = await Promise.all(
            [...children.keys()].map((url) => redisCommand(url, ['CLUSTER', 'INFO'], 1000).catch(() => '')),
          );
          if (states.every((s) => String(s).includes('cluster_state:ok'))) return;
          if (Date.now() > deadline) throw new Error('The Redis Cluster did not reach cluster_state:ok.');
          await sleep(100);
        }
      },
      close,
    };
    await servers.waitUntilOk();
    return servers;
  } catch (error) {
    await close();
    throw error;
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function untilPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await redisCommand(`redis://127.0.0.1:${port}`, ['PING'], 500).catch(() => '')) !== 'PONG') {
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start.`);
    await sleep(20);
  }
}
