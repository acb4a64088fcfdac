/**
 * Cross-instance delivery: two ssekit instances sharing a Redis broker, the connections split between them, the
 * broadcast published on the first. Uses its own `redis-server` on a free port (never the system one), flushed
 * between cells. The figures are those of the matrix; server CPU is the sum of both instances.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatCell } from '../report/text.js';
import type { Options } from './args.js';
import {
  type CellResult,
  type CellSpec,
  closeClients,
  figuresOf,
  measure,
  openConnections,
  type Target,
  waitForConnections,
} from './cell.js';
import { statsAgent } from './http.js';
import { type LoadClient, type StartedServer, startClient, startServer } from './processes.js';
import { repoPath } from './servers.js';

export const REDIS_SERVER = 'ssekit-redis';
const SERVER_FILE = repoPath('bench/src/servers/ssekit-redis.ts');

export interface RedisOutcome {
  /** Why the part did not run, if it did not. */
  skipped?: string;
  instances: number;
  redisVersion?: string;
  runs: CellResult[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Sends one inline command and returns the first reply line. */
function command(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`redis ${text}: no reply`)));
    socket.on('connect', () => socket.write(`${text}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(reply.slice(0, end));
      }
    });
    socket.on('error', reject);
  });
}

interface OwnRedis {
  port: number;
  version: string;
  stop(): Promise<void>;
}

async function startRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const pong = await Promise.race([command(port, 'PING'), spawnError]);
      if (pong === '+PONG') break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || Date.now() > deadline) {
        await stop();
        throw error;
      }
    }
    await sleep(100);
  }
  const about = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const version = /v=([^\s]+)/.exec(about)?.[1] ?? 'unknown';
  return { port, version, stop };
}

async function redisCell(redisPort: number, cell: CellSpec, run: number): Promise<CellResult> {
  const base: CellResult = {
    server: REDIS_SERVER,
    mode: cell.mode,
    conns: cell.conns,
    size: cell.size,
    events: cell.events,
    run,
    ok: false,
  };
  const servers: StartedServer[] = [];
  const clients: LoadClient[] = [];
  const agents = [statsAgent(), statsAgent()];
  try {
    await command(redisPort, 'FLUSHALL');
    const env = { BENCH_REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    for (const name of ['A', 'B']) servers.push(await startServer(`${REDIS_SERVER} ${name}`, SERVER_FILE, { env }));
    const targets: Target[] = servers.map((s, i) => ({ port: s.port, agent: agents[i] as (typeof agents)[number] }));
    const half = Math.floor(cell.conns / 2);
    const shares = [half, cell.conns - half];
    let openMs = 0;
    for (const [i, target] of targets.entries()) {
      const client = startClient(`${REDIS_SERVER} client ${i + 1}`);
      clients.push(client);
      openMs += await openConnections([client], target.port, shares[i] as number);
      await waitForConnections(target.port, target.agent, shares[i] as number);
    }
    const { measured, stall } = await measure(targets, clients, cell);
    return {
      ...base,
      ok: true,
      figures: {
        ...figuresOf(measured),
        rssPerConn: Number.NaN,
        heapPerConn: Number.NaN,
        probeMs: stall.probeMs,
        probes: stall.probes,
        openMs,
      },
    };
  } catch (error) {
    const failure =
      servers.find((s) => s.child.failure)?.child.failure ?? clients.find((c) => c.failure)?.failure ?? error;
    return { ...base, error: (failure as Error).message };
  } finally {
    for (const agent of agents) agent.destroy();
    await closeClients(clients);
    await Promise.all(servers.map((s) => s.child.stop()));
  }
}

export async function runRedis(options: Options): Promise<RedisOutcome> {
  if (!existsSync(repoPath('packages/redis/src/index.ts')) || !existsSync(SERVER_FILE)) {
    const reason = '@ssekit/redis (packages/redis/src/index.ts) is not in this checkout yet';
    console.warn(`! cross-instance part skipped: ${reason}`);
    return { skipped: reason, instances: 2, runs: [] };
  }
  let redis: OwnRedis;
  try {
    redis = await startRedis();
  } catch (error) {
    const reason = `could not start redis-server: ${(error as Error).message}`;
    console.warn(`! cross-instance part skipped: ${reason}`);
    return { skipped: reason, instances: 2, runs: [] };
  }
  const outcome: RedisOutcome = { instances: 2, redisVersion: redis.version, runs: [] };
  try {
    for (let run = 1; run <= options.runs; run++) {
      for (const conns of options.conns) {
        for (const size of options.sizes) {
          // Burst only: the cross-instance path's cost is per published event, which the burst shows at its largest.
          const cell: CellSpec = {
            conns,
            size,
            events: options.events,
            warmup: options.warmup,
            mode: 'burst',
            rate: options.rate,
          };
          const result = await redisCell(redis.port, cell, run);
          outcome.runs.push(result);
          console.log(formatCell(result, options.runs));
        }
      }
    }
  } finally {
    await redis.stop();
  }
  return outcome;
}
