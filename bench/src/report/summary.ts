/**
 * Medians over runs, ratios to the baseline in the same run, cell and mode, each library's own heap per connection,
 * and the targets of issue 13.
 */
import type { CellFigures, CellResult } from '../runner/cell.js';
import type { HeartbeatResult } from '../runner/heartbeat.js';
import { BASELINE as BATCHED, SERVERS } from '../runner/servers.js';
import type { Mode } from '../servers/contract.js';

/** The naive raw server: the baseline of results from before the batched one existed. */
export const NAIVE = 'raw-node';
/** A load-client process this busy (1 = one core) limits the events/s of the cell, not the server. */
export const CLIENT_BOUND = 0.9;

/** The baseline of a results file: the batched raw server, or the naive one in results that do not have it. */
export function baselineOf(cells: CellResult[]): string {
  return cells.some((c) => c.server === BATCHED) ? BATCHED : NAIVE;
}

export const modeOf = (cell: { mode?: Mode }): Mode => cell.mode ?? 'burst';

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

type Figure = 'eventsPerSec' | 'p50Ms' | 'p99Ms' | 'cpuMsPer1k' | 'rssPerConn' | 'stallMs';
export const FIGURES: readonly Figure[] = ['eventsPerSec', 'p50Ms', 'p99Ms', 'cpuMsPer1k', 'rssPerConn', 'stallMs'];
const MEDIANS = [
  ...FIGURES,
  'heapPerConn',
  'loopMs',
  'lagMs',
  'publishedShare',
  'probeMs',
  'serverCpuShare',
  'clientCpuShare',
  'clientCpuMax',
  'clients',
  'probes',
  'openMs',
] as const;

export interface CellSummary {
  server: string;
  mode: Mode;
  conns: number;
  size: number;
  runs: number;
  failures: string[];
  /** Medians over the successful runs. */
  median: Partial<CellFigures>;
  /** Median over runs of (figure / the baseline's figure in the same run, cell and mode). */
  ratio: Partial<Record<Figure, number>>;
  /** Median over runs of (RSS per connection - the baseline's), bytes. */
  rssOverBaseline: number;
  /**
   * Median over runs of (JS heap per idle connection - the floor's, same run, cell and mode), bytes: what the library
   * itself keeps per connection (see `floor` in servers.ts). NaN without a floor or without its figures.
   */
  heapOverFloor: number;
  /** The busiest load-client process used {@link CLIENT_BOUND} of a core or more (median over runs). */
  clientBound: boolean;
}

/**
 * The server whose heap per idle connection is subtracted from `server`'s (its framework's floor); the naive raw
 * server stands in for the batched one in results that do not have it (both hold a bare node:http response).
 */
export function floorOf(server: string, baseline: string): string | undefined {
  const floor = SERVERS.find((s) => s.name === server)?.floor;
  return floor === BATCHED && baseline === NAIVE ? NAIVE : floor;
}

const keyOf = (c: CellResult): string => `${c.server}|${modeOf(c)}|${c.conns}|${c.size}`;

export function summarize(cells: CellResult[]): CellSummary[] {
  const baselineName = baselineOf(cells);
  const groups = new Map<string, CellResult[]>();
  const byKey = new Map<string, CellResult>();
  for (const cell of cells) {
    groups.set(keyOf(cell), [...(groups.get(keyOf(cell)) ?? []), cell]);
    if (cell.ok) byKey.set(`${keyOf(cell)}|${cell.run}`, cell);
  }
  const peer = (cell: CellResult, server: string): CellFigures | undefined =>
    byKey.get(`${keyOf({ ...cell, server })}|${cell.run}`)?.figures;
  const out: CellSummary[] = [];
  for (const group of groups.values()) {
    const first = group[0] as CellResult;
    const ok = group.filter((c) => c.ok && c.figures !== undefined);
    const figures = (c: CellResult): CellFigures => c.figures as CellFigures;
    const med: Partial<CellFigures> = {};
    for (const key of MEDIANS) med[key] = median(ok.map((c) => figures(c)[key] ?? Number.NaN));
    const ratio: Partial<Record<Figure, number>> = {};
    for (const key of FIGURES) {
      ratio[key] = median(
        ok.map((c) => {
          const b = peer(c, baselineName);
          return b === undefined ? Number.NaN : figures(c)[key] / b[key];
        }),
      );
    }
    const floor = floorOf(first.server, baselineName);
    out.push({
      server: first.server,
      mode: modeOf(first),
      conns: first.conns,
      size: first.size,
      runs: ok.length,
      failures: group.filter((c) => !c.ok).map((c) => `run ${c.run}: ${c.error}`),
      median: med,
      ratio,
      rssOverBaseline: median(
        ok.map((c) => {
          const b = peer(c, baselineName);
          return b === undefined ? Number.NaN : figures(c).rssPerConn - b.rssPerConn;
        }),
      ),
      heapOverFloor: median(
        ok.map((c) => {
          const f = floor === undefined ? undefined : peer(c, floor);
          return f === undefined ? Number.NaN : figures(c).heapPerConn - f.heapPerConn;
        }),
      ),
      // Results of the previous harness lack clientCpuMax: one client process per 10,000 connections, so its share.
      clientBound:
        median(
          ok.map((c) => figures(c).clientCpuMax ?? (c.conns <= 10_000 ? figures(c).clientCpuShare : Number.NaN)),
        ) >= CLIENT_BOUND,
    });
  }
  return out;
}

export interface TargetCheck {
  server: string;
  mode: Mode;
  conns: number;
  size: number;
  target: string;
  value: string;
  met: boolean;
}

const fmt = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);

/** Longest event-loop stall allowed at 5,000 connections and more, ms. */
export const STALL_TARGET_MS = 50;
/** ssekit's own JS heap per idle connection allowed, on top of its framework's floor, bytes. */
export const HEAP_TARGET = 1024;

/**
 * The targets of issue 13 for ssekit servers at 1,000 connections and more, against the batched raw server: server
 * CPU per delivered event (per adapter, `cpuTarget` in servers.ts), p99 latency no higher, the longest stall under
 * 50 ms from 5,000 connections on, and ssekit's own heap per idle connection within 1 KB. Empty for results whose
 * baseline is the naive raw server: those targets are not defined against it.
 */
export function checkTargets(summaries: CellSummary[], baseline: string): TargetCheck[] {
  const checks: TargetCheck[] = [];
  if (baseline !== BATCHED) return checks;
  for (const s of summaries) {
    const cpuTarget = SERVERS.find((spec) => spec.name === s.server)?.cpuTarget;
    if (cpuTarget === undefined || s.conns < 1000) continue;
    const add = (target: string, value: string, met: boolean): void => {
      checks.push({ server: s.server, mode: s.mode, conns: s.conns, size: s.size, target, value, met });
    };
    if (s.runs === 0) {
      add('all runs complete', s.failures.join('; '), false);
      continue;
    }
    const r = s.ratio;
    add(
      'CPU/event ≤ target',
      `${fmt(r.cpuMsPer1k)}x of ${cpuTarget.toFixed(2)}x`,
      (r.cpuMsPer1k ?? Number.POSITIVE_INFINITY) <= cpuTarget,
    );
    add('p99 ≤ baseline', `${fmt(r.p99Ms)}x`, (r.p99Ms ?? Number.POSITIVE_INFINITY) <= 1);
    if (s.conns >= 5000) {
      add(
        `stall < ${STALL_TARGET_MS} ms`,
        `${fmt(s.median.stallMs, 0)} ms`,
        (s.median.stallMs ?? Number.POSITIVE_INFINITY) < STALL_TARGET_MS,
      );
    }
    if (Number.isFinite(s.heapOverFloor)) {
      add(
        'own heap/idle conn ≤ 1 KB',
        `${s.heapOverFloor >= 0 ? '+' : ''}${fmt(s.heapOverFloor / 1024, 2)} KB`,
        s.heapOverFloor <= HEAP_TARGET,
      );
    }
  }
  return checks;
}

export interface HeartbeatSummary {
  server: string;
  conns: number;
  runs: number;
  failures: string[];
  cpuShare: number;
  heartbeatsPerSec: number;
  cpuUsPerHeartbeat: number;
  rssPerConn: number;
}

export function summarizeHeartbeat(results: HeartbeatResult[]): HeartbeatSummary[] {
  const servers = [...new Set(results.map((r) => r.server))];
  return servers.map((server) => {
    const group = results.filter((r) => r.server === server);
    const ok = group.filter((r) => r.ok);
    return {
      server,
      conns: (group[0] as HeartbeatResult).conns,
      runs: ok.length,
      failures: group.filter((r) => !r.ok).map((r) => `run ${r.run}: ${r.error}`),
      cpuShare: median(ok.map((r) => r.cpuShare ?? Number.NaN)),
      heartbeatsPerSec: median(ok.map((r) => r.heartbeatsPerSec ?? Number.NaN)),
      cpuUsPerHeartbeat: median(ok.map((r) => r.cpuUsPerHeartbeat ?? Number.NaN)),
      rssPerConn: median(ok.map((r) => r.rssPerConn ?? Number.NaN)),
    };
  });
}
