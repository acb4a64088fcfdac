/**
 * The redis-server processes of `redis-scale`: a single node, or a cluster of masters without replicas, each on a
 * free 127.0.0.1 port with no persistence, in a temporary directory of its own, killed when the script ends. The
 * system Redis is never used.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createClient } from 'redis';

const run = promisify(execFile);

export interface RedisNodes {
  /** `redis://127.0.0.1:<port>` of every node (all masters). */
  readonly urls: string[];
  readonly version: string;
  /** Seconds of CPU (user + system) each node has used so far, from `INFO cpu`. */
  cpuSeconds(): Promise<number[]>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** One command on a short-lived connection. */
export async function redisCommand(url: string, args: string[]): Promise<unknown> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

/** Starts `masters` nodes: one standalone node for 1, else a Redis Cluster of that many masters (no replicas). */
export async function startRedis(masters: number): Promise<RedisNodes> {
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-scale-'));
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const stop = async () => {
    process.off('exit', killAll);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freePort());
    for (const port of ports) {
      const cluster =
        masters === 1 ? [] : ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)];
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
      const child = spawn('redis-server', [...args, ...cluster, '--dir', dir, '--loglevel', 'warning'], {
        stdio: 'ignore',
      });
      children.push(child);
    }
    const urls = ports.map((port) => `redis://127.0.0.1:${port}`);
    for (const url of urls) await untilPing(url);
    if (masters > 1) {
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes']);
      await untilClusterOk(urls);
    }
    const info = String(await redisCommand(urls[0] as string, ['INFO', 'server']));
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return {
      urls,
      version,
      cpuSeconds: () =>
        Promise.all(
          urls.map(async (url) => {
            const cpu = String(await redisCommand(url, ['INFO', 'cpu']));
            const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
            return field('used_cpu_user') + field('used_cpu_sys');
          }),
        ),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function untilPing(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await redisCommand(url, ['PING']).catch(() => '')) !== 'PONG') {
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not start.`);
    await sleep(20);
  }
}

async function untilClusterOk(urls: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(urls.map((url) => redisCommand(url, ['CLUSTER', 'INFO']).catch(() => '')));
    if (states.every((state) => String(state).includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error('The Redis Cluster did not reach cluster_state:ok.');
    await sleep(100);
  }
}
