/**
 * One cell of the matrix for one server and publishing mode: a fresh server process, fresh load-client process(es),
 * `conns` connections, then three rounds of events of `size` bytes: a warm-up (not measured), the measured round
 * (during which the server measures its own longest event-loop delay), and a round with `GET /stats` probes from
 * the runner, whose longest round trip is what another request waited (probes cost server CPU, so they stay out of
 * the measured round).
 */
import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHistogram, merge, quantileMs } from '../client/histogram.js';
import type { RoundReport } from '../client/load-client.js';
import type { BroadcastResult, Mode } from '../servers/contract.js';
import { call, getStats, statsAgent } from './http.js';
import { isOp, type LoadClient, startClient, startServer } from './processes.js';
import type { ServerSpec } from './servers.js';

export interface CellSpec {
  conns: number;
  size: number;
  /** Events of the measured round (`rate` mode: rate × duration). */
  events: number;
  warmup: number;
  mode: Mode;
  /** Events per second, `rate` mode. */
  rate: number;
}

/** Events of the probed round: as many as the measured one, but at most 3 s of a `rate` round. */
export function probeEvents(cell: CellSpec): number {
  return cell.mode === 'rate' ? Math.min(cell.events, cell.rate * 3) : cell.events;
}

export interface CellFigures {
  /** Delivered events per second: events × connections over first publish → last receive. */
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU (user + system) per 1,000 delivered events, ms. */
  cpuMsPer1k: number;
  /** Server CPU share during the measured round (1 = one core). */
  serverCpuShare: number;
  /** Load client CPU share during the measured round (1 = one core, summed over client processes). */
  clientCpuShare: number;
  /** The busiest load-client process's CPU share (1 = one core): at 0.9 and more, the client limits events/s. */
  clientCpuMax: number;
  /** Load-client processes. */
  clients: number;
  /** Server RSS growth per idle connection after a full GC (slope over several connection counts), bytes. */
  rssPerConn: number;
  /** JS heap growth per idle connection, same method (a steadier view of what the library itself keeps), bytes. */
  heapPerConn: number;
  /**
   * Longest event-loop stall the server measured in itself during the measured round, ms: the maximum of its
   * `monitorEventLoopDelay` and of its publisher's longest synchronous stretch.
   */
  stallMs: number;
  /** Longest `GET /stats` round trip from the runner during the probed round, ms. */
  probeMs: number;
  /** Probes answered during the stall round. */
  probes: number;
  /** The longest synchronous stretch of the server's publishing (a burst's whole loop), ms. */
  loopMs: number;
  /** `rate` mode: how far the publisher fell behind its schedule at worst, ms. */
  lagMs: number;
  /** Share of the round's events published (below 1: a `rate` round the server could not keep up with). */
  publishedShare: number;
  /** Time to open the connections, ms. */
  openMs: number;
}

export interface CellResult {
  server: string;
  /** Absent in results of the harness before the modes: `burst`. */
  mode?: Mode;
  conns: number;
  size: number;
  events: number;
  run: number;
  ok: boolean;
  error?: string;
  figures?: CellFigures;
}

export interface Limits {
  /** Most connections one client process opens (its file descriptor limit). */
  perClient: number;
  /** Least number of client processes. */
  clients: number;
}

/** Gap between two stall probes. */
const PROBE_GAP_MS = 5;

/**
 * Starts `limits.clients` client processes, or more when one would have to open more than `limits.perClient`
 * connections; never more processes than connections.
 */
export function startClients(conns: number, limits: Limits, name: string): LoadClient[] {
  const count = Math.min(conns, Math.max(limits.clients, Math.ceil(conns / limits.perClient)));
  return Array.from({ length: count }, (_, i) => startClient(`${name} client ${i + 1}`));
}

/** Opens `conns` more connections, spread evenly over the clients; returns how long it took, ms. */
export async function openConnections(clients: LoadClient[], port: number, conns: number): Promise<number> {
  const started = performance.now();
  const count = clients.length;
  await Promise.all(
    clients.map(async (client, i) => {
      const share = Math.floor(conns / count) + (i < conns % count ? 1 : 0);
      if (share === 0) return;
      client.send({ op: 'open', port, count: share });
      // Generous: express-sse writes to every open connection whenever one opens, so opening N costs it O(N²).
      await client.next(isOp('opened'), 60_000 + share * 100, 'opened connections');
    }),
  );
  return performance.now() - started;
}

export async function closeClients(clients: LoadClient[]): Promise<void> {
  for (const client of clients) client.send({ op: 'close' });
  await Promise.all(clients.map((c) => c.stop()));
}

/** Waits until the server counts `conns` open connections. */
export async function waitForConnections(port: number, agent: Agent, conns: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  while (Date.now() < deadline) {
    seen = (await getStats(port, agent)).body.connections;
    if (seen === conns) return;
    await sleep(100);
  }
  throw new Error(`the server counts ${seen} open connections instead of ${conns} after ${timeoutMs / 1000} s`);
}

interface RoundOutcome {
  report: RoundReport & { clients: number; cpuMax: number };
  serverCpuUs: number;
  published: BroadcastResult;
  /** The publishing server's longest event-loop delay during the round, measured in itself, ms. */
  eldMaxMs: number;
  /** Longest probe round trip (with `probe`), ms. */
  probeMs: number;
  probes: number;
}

/** Time allowed for a round: generous, but bounded (a server that loses events must not hang the bench). */
function roundTimeoutMs(conns: number, events: number, size: number, publishMs: number): number {
  return 30_000 + publishMs + (conns * events) / 5 + (conns * events * size) / 2_000;
}

export interface RoundSpec {
  conns: number;
  first: number;
  n: number;
  size: number;
  mode: Mode;
  rate: number;
}

/** A server process the runner talks to: its port and a kept-alive connection for `/stats`. */
export interface Target {
  port: number;
  agent: Agent;
}

/**
 * One broadcast round: tells the clients which events to expect, triggers the broadcast on the first target and
 * waits for every connection to receive every event (in order, no loss: the clients check). With `probe`, sends
 * `GET /stats` to the first target back to back (a few ms apart) while it runs and keeps the longest round trip.
 * Server CPU is summed over all targets.
 */
export async function round(
  targets: Target[],
  clients: LoadClient[],
  spec: RoundSpec,
  probe: boolean,
): Promise<RoundOutcome> {
  const { conns, first, n, size, mode, rate } = spec;
  const publisher = targets[0] as Target;
  await Promise.all(
    clients.map((c) => {
      c.send({ op: 'expect', first, n });
      return c.next(isOp('expecting'), 10_000, 'round start');
    }),
  );
  const statsOf = async (eld: 'start' | 'end'): Promise<{ cpuUs: number; eldMaxMs: number }> => {
    const answers = await Promise.all(targets.map((t) => getStats(t.port, t.agent, false, eld)));
    return {
      cpuUs: answers.reduce((sum, a) => sum + a.body.cpuUs, 0),
      eldMaxMs: answers[0]?.body.eldMaxMs ?? Number.NaN,
    };
  };
  const before = await statsOf('start');
  const timeout = roundTimeoutMs(conns, n, size, mode === 'rate' ? (n / rate) * 1000 : 0);
  let finished = false;
  const done = Promise.all(clients.map((c) => c.next(isOp('done'), timeout, `all ${n} events within the time limit`)));
  done.then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  const post = call<BroadcastResult>(
    publisher.port,
    'POST',
    `/broadcast?n=${n}&size=${size}&mode=${mode}&rate=${rate}`,
  );
  // Settled here so that a failure of `done` first does not leave this rejection unhandled. A fixed-rate round the
  // server could not keep up with ends on schedule with fewer events: the clients then wait for those only.
  post.then(
    (answer) => {
      if (answer.body.n < n) for (const c of clients) c.send({ op: 'truncate', n: answer.body.n });
    },
    () => {},
  );
  let probeMs = 0;
  let probes = 0;
  if (probe) {
    while (!finished) {
      const answer = await getStats(publisher.port, publisher.agent);
      probes++;
      probeMs = Math.max(probeMs, answer.ms);
      await sleep(PROBE_GAP_MS);
    }
  }
  let reports: Extract<Awaited<typeof done>[number], { op: 'done' }>[];
  try {
    reports = await done;
  } catch (error) {
    const statuses = await Promise.all(
      clients.map(async (c) => {
        c.send({ op: 'status' });
        return c.next(isOp('status'), 5000, 'status').catch(() => undefined);
      }),
    );
    const delivered = statuses.reduce((sum, s) => sum + (s?.delivered ?? 0), 0);
    const behind = statuses.reduce((sum, s) => sum + (s?.connectionsBehind ?? 0), 0);
    throw new Error(
      `${(error as Error).message}: ${delivered} of ${conns * n} events delivered, ${behind} connections incomplete`,
    );
  }
  const published = await post;
  const count = published.body.n;
  if (published.body.first !== first || count > n || (count < n && mode !== 'rate') || count < 1) {
    throw new Error(`the server numbered the round ${published.body.first}+${count}, expected ${first}+${n}`);
  }
  const after = await statsOf('end');
  return {
    report: mergeReports(reports.map((r) => r.report)),
    serverCpuUs: after.cpuUs - before.cpuUs,
    published: published.body,
    eldMaxMs: after.eldMaxMs,
    probeMs,
    probes,
  };
}

function mergeReports(reports: RoundReport[]): RoundReport & { clients: number; cpuMax: number } {
  const histogram = createHistogram();
  for (const r of reports) merge(histogram, r.histogram);
  return {
    clients: reports.length,
    cpuMax: Math.max(...reports.map((r) => r.cpuUs / Math.max(1, r.wallUs))),
    delivered: reports.reduce((s, r) => s + r.delivered, 0),
    firstSentUs: Math.min(...reports.map((r) => r.firstSentUs)),
    lastReceivedUs: Math.max(...reports.map((r) => r.lastReceivedUs)),
    histogram: Array.from(histogram),
    cpuUs: reports.reduce((s, r) => s + r.cpuUs, 0),
    wallUs: Math.max(...reports.map((r) => r.wallUs)),
  };
}

/** Figures of a measured round. */
export function figuresOf(
  outcome: RoundOutcome,
): Pick<
  CellFigures,
  | 'eventsPerSec'
  | 'p50Ms'
  | 'p99Ms'
  | 'cpuMsPer1k'
  | 'serverCpuShare'
  | 'clientCpuShare'
  | 'clientCpuMax'
  | 'clients'
  | 'loopMs'
  | 'lagMs'
  | 'publishedShare'
  | 'stallMs'
> {
  const { report, serverCpuUs } = outcome;
  const spanUs = Math.max(1, report.lastReceivedUs - report.firstSentUs);
  return {
    eventsPerSec: report.delivered / (spanUs / 1e6),
    p50Ms: quantileMs(report.histogram, 0.5),
    p99Ms: quantileMs(report.histogram, 0.99),
    cpuMsPer1k: serverCpuUs / 1000 / (report.delivered / 1000),
    serverCpuShare: serverCpuUs / report.wallUs,
    clientCpuShare: report.cpuUs / report.wallUs,
    clientCpuMax: report.cpuMax,
    clients: report.clients,
    loopMs: outcome.published.loopMs,
    lagMs: outcome.published.lagMs,
    publishedShare: outcome.published.n / outcome.published.requested,
    // The publisher's own longest synchronous stretch held the loop too: a floor under the monitor's figure (in one
    // smoke run the monitor reported less than a 3 s publishing stretch of the same round).
    stallMs: Math.max(outcome.eldMaxMs, outcome.published.loopMs),
  };
}

/** Steps in which connections are opened; memory is sampled after each. */
const MEMORY_STEPS = 4;

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/**
 * Opens the connections in {@link MEMORY_STEPS} steps and samples memory after each (after a full GC). Memory per
 * idle connection is the slope over the samples, leaving out the first step: what the first connections cost once
 * (lazily loaded code, JIT, pools) is not a per-connection cost, and one heap page more or less in a single
 * before/after pair would swing the figure by kilobytes.
 */
async function openInSteps(
  port: number,
  agent: Agent,
  clients: LoadClient[],
  conns: number,
): Promise<{ rssPerConn: number; heapPerConn: number; openMs: number }> {
  const rss: { x: number; y: number }[] = [];
  const heap: { x: number; y: number }[] = [];
  let open = 0;
  let openMs = 0;
  for (let step = 1; step <= MEMORY_STEPS; step++) {
    const target = Math.round((conns * step) / MEMORY_STEPS);
    openMs += await openConnections(clients, port, target - open);
    open = target;
    await waitForConnections(port, agent, open);
    await sleep(200);
    const sample = (await getStats(port, agent, true)).body;
    if (step > 1) {
      rss.push({ x: open, y: sample.rss });
      heap.push({ x: open, y: sample.heapUsed });
    }
  }
  return { rssPerConn: slope(rss), heapPerConn: slope(heap), openMs };
}

/** The three rounds of a cell: warm-up, measured, and stall-probed. */
export async function measure(
  targets: Target[],
  clients: LoadClient[],
  cell: CellSpec,
): Promise<{ measured: RoundOutcome; stall: RoundOutcome }> {
  let first = 0;
  const spec = (n: number): RoundSpec => ({
    conns: cell.conns,
    first,
    n,
    size: cell.size,
    mode: cell.mode,
    rate: cell.rate,
  });
  if (cell.warmup > 0) {
    first += (await round(targets, clients, spec(cell.warmup), false)).published.n;
  }
  const measured = await round(targets, clients, spec(cell.events), false);
  first += measured.published.n;
  const stall = await round(targets, clients, spec(probeEvents(cell)), true);
  return { measured, stall };
}

/** Runs one cell for one server; never throws: a failure is recorded in the result. */
export async function runCell(
  spec: ServerSpec,
  cell: CellSpec,
  run: number,
  limits: Limits,
  nodeFlags: string[] = [],
): Promise<CellResult> {
  const base: CellResult = {
    server: spec.name,
    mode: cell.mode,
    conns: cell.conns,
    size: cell.size,
    events: cell.events,
    run,
    ok: false,
  };
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let clients: LoadClient[] = [];
  const agent = statsAgent();
  try {
    server = await startServer(spec.name, spec.file, { nodeFlags });
    const { port } = server;
    clients = startClients(cell.conns, limits, spec.name);
    const idle = await openInSteps(port, agent, clients, cell.conns);
    const { measured, stall } = await measure([{ port, agent }], clients, cell);
    return {
      ...base,
      ok: true,
      figures: {
        ...figuresOf(measured),
        rssPerConn: idle.rssPerConn,
        heapPerConn: idle.heapPerConn,
        probeMs: stall.probeMs,
        probes: stall.probes,
        openMs: idle.openMs,
      },
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
