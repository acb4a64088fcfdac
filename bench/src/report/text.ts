/** Console output: one line per measured cell while the bench runs, and the summary at the end. */
import type { BenchResults } from '../run.js';
import type { CellResult } from '../runner/cell.js';
import type { HeartbeatResult } from '../runner/heartbeat.js';
import { REDIS_SERVER } from '../runner/redis.js';
import { baselineOf, checkTargets, modeOf, summarize, summarizeHeartbeat } from './summary.js';

export const num = (n: number | undefined | null, digits = 0): string =>
  n === undefined || n === null || !Number.isFinite(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Milliseconds with a precision that fits the magnitude. */
export const ms = (n: number | undefined | null): string =>
  n === undefined || n === null || !Number.isFinite(n) ? 'n/a' : n < 10 ? num(n, 1) : num(n, 0);

export const ratio = (n: number | undefined | null): string =>
  n === undefined || n === null || !Number.isFinite(n) ? 'n/a' : `${n < 10 ? n.toFixed(2) : n.toFixed(1)}x`;

export function formatCell(r: CellResult, runs: number): string {
  const head = `[run ${r.run}/${runs}] ${modeOf(r).padEnd(5)} ${num(r.conns).padStart(6)} conns ${String(r.size).padStart(5)} B  ${r.server.padEnd(18)}`;
  if (!r.ok || r.figures === undefined) return `${head} FAILED: ${r.error}`;
  const f = r.figures;
  return (
    `${head} ${num(f.eventsPerSec).padStart(9)} ev/s  p50 ${ms(f.p50Ms).padStart(5)} ms  p99 ${ms(f.p99Ms).padStart(5)} ms` +
    `  cpu ${num(f.cpuMsPer1k, 2).padStart(6)} ms/1k  rss ${Number.isFinite(f.rssPerConn) ? num(f.rssPerConn / 1024, 1) : 'n/a'} KB/conn (heap ${num(f.heapPerConn / 1024, 1)})` +
    `  stall ${ms(f.stallMs)} ms (probe ${ms(f.probeMs)}, loop ${ms(f.loopMs)}, lag ${ms(f.lagMs)}, published ${num(f.publishedShare * 100)}%)  client cpu ${num(f.clientCpuMax * 100)}% × ${f.clients}`
  );
}

export function formatHeartbeat(r: HeartbeatResult, runs: number): string {
  const head = `[heartbeat ${r.run}/${runs}] ${num(r.conns)} idle conns, 1 s heartbeat  ${r.server.padEnd(16)}`;
  if (!r.ok) return `${head} FAILED: ${r.error}`;
  return `${head} server cpu ${num((r.cpuShare ?? 0) * 100, 1)}%  ${num(r.heartbeatsPerSec)} heartbeats/s  ${num(r.cpuUsPerHeartbeat, 1)} µs/heartbeat`;
}

export function printSummary(results: BenchResults): void {
  const summaries = summarize([...results.cells, ...(results.redis?.runs ?? [])]);
  const baseline = baselineOf(results.cells);
  if (summaries.length > 0) {
    console.log(
      `\nmedians (ratio to ${baseline} in the same run, cell and mode; ‡: a load client used ≥ 90% of a core):`,
    );
    for (const s of summaries) {
      const m = s.median;
      const r = s.ratio;
      const failed = s.failures.length > 0 ? `  FAILED ${s.failures.length}x` : '';
      const own = Number.isFinite(s.heapOverFloor) ? `  own heap ${num(s.heapOverFloor / 1024, 2)} KB/conn` : '';
      console.log(
        `${s.mode.padEnd(5)} ${num(s.conns).padStart(6)} conns ${String(s.size).padStart(5)} B  ${s.server.padEnd(18)}` +
          `  cpu ${num(m.cpuMsPer1k, 2)} ms/1k (${ratio(r.cpuMsPer1k)})  p99 ${ms(m.p99Ms)} ms (${ratio(r.p99Ms)})` +
          `  ${num(m.eventsPerSec).padStart(9)} ev/s (${ratio(r.eventsPerSec)})${s.clientBound ? ' ‡' : ''}  stall ${ms(m.stallMs)} ms${own}${failed}`,
      );
    }
    // The Redis part has no same-instance baseline: the targets apply to the matrix only.
    const checks = checkTargets(
      summaries.filter((s) => s.server !== REDIS_SERVER),
      baseline,
    );
    const missed = checks.filter((c) => !c.met);
    if (checks.length > 0) {
      console.log(`\ntargets: ${checks.length - missed.length} of ${checks.length} met`);
      for (const c of missed)
        console.log(`  missed: ${c.server} ${c.mode} ${c.conns} conns ${c.size} B: ${c.target} (${c.value})`);
    }
  }
  const heartbeat = summarizeHeartbeat(results.heartbeat);
  if (heartbeat.length > 0) {
    console.log('\nheartbeat (medians):');
    for (const h of heartbeat) {
      console.log(
        `  ${h.server.padEnd(16)} ${num(h.conns)} conns  server cpu ${num(h.cpuShare * 100, 1)}%  ${num(h.heartbeatsPerSec)} heartbeats/s  ${num(h.cpuUsPerHeartbeat, 1)} µs/heartbeat${h.failures.length ? `  FAILED ${h.failures.length}x` : ''}`,
      );
    }
  }
}
