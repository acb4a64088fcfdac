/**
 * Heartbeat cost: many idle connections with a 1 s heartbeat, and nothing else. Measures the server's CPU share over
 * a window, and counts the heartbeats the clients received (so a server that sends fewer is seen doing so).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { closeClients, type Limits, openConnections, startClients, waitForConnections } from './cell.js';
import { getStats, statsAgent } from './http.js';
import { isOp, type LoadClient, startServer } from './processes.js';
import type { ServerSpec } from './servers.js';

export const HEARTBEAT_MS = 1000;

export interface HeartbeatResult {
  server: string;
  run: number;
  conns: number;
  seconds: number;
  ok: boolean;
  error?: string;
  /** Server CPU share over the window (1 = one core). */
  cpuShare?: number;
  /** Heartbeat comments the clients received per second. */
  heartbeatsPerSec?: number;
  /** Server CPU per received heartbeat, µs. */
  cpuUsPerHeartbeat?: number;
  /** Server RSS per idle connection with heartbeats armed, bytes (from an empty server, after a full GC). */
  rssPerConn?: number;
}

async function comments(clients: LoadClient[]): Promise<number> {
  const answers = await Promise.all(
    clients.map((c) => {
      c.send({ op: 'comments' });
      return c.next(isOp('comments'), 10_000, 'comment count');
    }),
  );
  return answers.reduce((sum, a) => sum + a.count, 0);
}

export async function runHeartbeat(
  spec: ServerSpec,
  conns: number,
  seconds: number,
  run: number,
  limits: Limits,
  nodeFlags: string[] = [],
): Promise<HeartbeatResult> {
  const base: HeartbeatResult = { server: spec.name, run, conns, seconds, ok: false };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let clients: LoadClient[] = [];
  const agent = statsAgent();
  try {
    server = await startServer(spec.name, spec.file, {
      env: { BENCH_HEARTBEAT_MS: String(HEARTBEAT_MS) },
      nodeFlags,
    });
    const { port } = server;
    const empty = await getStats(port, agent, true);
    clients = startClients(conns, limits, spec.name);
    await openConnections(clients, port, conns);
    await waitForConnections(port, agent, conns, 120_000);
    // Two heartbeat periods to settle into the steady state (timers armed, first heartbeats out).
    await sleep(2 * HEARTBEAT_MS + 500);
    const full = await getStats(port, agent, true);
    const c0 = await comments(clients);
    const a = await getStats(port, agent);
    const started = performance.now();
    await sleep(seconds * 1000);
    const b = await getStats(port, agent);
    const wallUs = (performance.now() - started) * 1000;
    const c1 = await comments(clients);
    const cpuUs = b.body.cpuUs - a.body.cpuUs;
    const received = c1 - c0;
    return {
      ...base,
      ok: true,
      cpuShare: cpuUs / wallUs,
      heartbeatsPerSec: received / (wallUs / 1e6),
      cpuUsPerHeartbeat: received > 0 ? cpuUs / received : Number.NaN,
      rssPerConn: (full.body.rss - empty.body.rss) / conns,
    };
  } catch (error) {
    const failure = server?.child.failure ?? clients.find((c) => c.failure)?.failure ?? error;
    return { ...base, error: (failure as Error).message };
  } finally {
    agent.destroy();
    await closeClients(clients);
    await server?.child.stop();
  }
}
