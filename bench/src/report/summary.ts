/** Medians over runs, ratios to raw-node in the same run, and the targets of issue 6. */
import type { CellFigures, CellResult } from '../runner/cell.js';
import type { HeartbeatResult } from '../runner/heartbeat.js';

export const BASELINE = 'raw-node';

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

export interface CellSummary {
  server: string;
  conns: number;
  size: number;
  runs: number;
  failures: string[];
  /** Medians over the successful runs. */
  median: Partial<CellFigures>;
  /** Median over runs of (figure / raw-node's figure in the same run). */
  ratio: Partial<Record<Figure, number>>;
  /** Median over runs of (RSS per connection - raw-node's), bytes. */
  rssOverBaseline: number;
}

export function summarize(cells: CellResult[]): CellSummary[] {
  const keys = new Map<string, CellResult[]>();
  for (const cell of cells) {
    const key = `${cell.server}|${cell.conns}|${cell.size}`;
    keys.set(key, [...(keys.get(key) ?? []), cell]);
  }
  const baseline = (cell: CellResult): CellFigures | undefined =>
    cells.find((c) => c.server === BASELINE && c.conns === cell.conns && c.size === cell.size && c.run === cell.run)
      ?.figures;
  const out: CellSummary[] = [];
  for (const group of keys.values()) {
    const first = group[0] as CellResult;
    const ok = group.filter((c) => c.ok && c.figures !== undefined);
    const med: Partial<CellFigures> = {};
    for (const key of [
      ...FIGURES,
      'heapPerConn',
      'loopMs',
      'serverCpuShare',
      'clientCpuShare',
      'probes',
      'openMs',
    ] as const) {
      med[key] = median(ok.map((c) => (c.figures as CellFigures)[key]));
    }
    const ratio: Partial<Record<Figure, number>> = {};
    for (const key of FIGURES) {
      ratio[key] = median(
        ok.map((c) => {
          const b = baseline(c);
          return b === undefined ? Number.NaN : (c.figures as CellFigures)[key] / b[key];
        }),
      );
    }
    out.push({
      server: first.server,
      conns: first.conns,
      size: first.size,
      runs: ok.length,
      failures: group.filter((c) => !c.ok).map((c) => `run ${c.run}: ${c.error}`),
      median: med,
      ratio,
      rssOverBaseline: median(
        ok.map((c) => {
          const b = baseline(c);
          return b === undefined ? Number.NaN : (c.figures as CellFigures).rssPerConn - b.rssPerConn;
        }),
      ),
    });
  }
  return out;
}

export interface TargetCheck {
  server: string;
  conns: number;
  size: number;
  target: string;
  value: string;
  met: boolean;
}

const fmt = (n: number | undefined, digits = 2): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);

/** The targets of issue 6 for ssekit servers at 1,000 and 5,000 connections. */
export function checkTargets(summaries: CellSummary[], ssekit: (server: string) => boolean): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const s of summaries) {
    if (!ssekit(s.server) || s.conns < 1000) continue;
    const add = (target: string, value: string, met: boolean): void => {
      checks.push({ server: s.server, conns: s.conns, size: s.size, target, value, met });
    };
    if (s.runs === 0) {
      add('all runs complete', s.failures.join('; '), false);
      continue;
    }
    const r = s.ratio;
    add('events/s ≥ 0.9x raw', `${fmt(r.eventsPerSec)}x`, (r.eventsPerSec ?? 0) >= 0.9);
    add('CPU/event ≤ 1.15x raw', `${fmt(r.cpuMsPer1k)}x`, (r.cpuMsPer1k ?? Number.POSITIVE_INFINITY) <= 1.15);
    add('p99 ≤ raw', `${fmt(r.p99Ms)}x`, (r.p99Ms ?? Number.POSITIVE_INFINITY) <= 1);
    add(
      'RSS/idle conn ≤ raw + 4 KB',
      `${s.rssOverBaseline >= 0 ? '+' : ''}${fmt(s.rssOverBaseline / 1024, 1)} KB`,
      s.rssOverBaseline <= 4096,
    );
    if (s.conns >= 5000)
      add('stall < 100 ms', `${fmt(s.median.stallMs, 0)} ms`, (s.median.stallMs ?? Number.POSITIVE_INFINITY) < 100);
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
