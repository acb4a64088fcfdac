/**
 * docs/benchmarks.svg, drawn from the results with no external tool: at the largest connection count and payload
 * measured, server CPU per delivered event and p99 latency as multiples of the baseline's, and the longest
 * event-loop stall; one bar per publishing mode, so burst and steady stand side by side.
 */
import { SERVERS } from '../runner/servers.js';
import type { Mode } from '../servers/contract.js';
import type { CellSummary } from './summary.js';

const WIDTH = 880;
const LABEL = 200;
const BAR_AREA = 560;
const BAR = 10;
const OPACITY = [0.45, 0.72, 1];
const PANEL_HEAD = 44;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

const xml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function colour(server: string): string {
  if (server === 'raw-batched') return '#1f2937';
  if (server === 'raw-node') return '#4b5563';
  if (server.endsWith('-raw')) return '#9ca3af';
  if (server.startsWith('ssekit')) return '#0f766e';
  return '#6b7fa8';
}

interface Bar {
  value: number;
  text: string;
}

interface Panel {
  title: string;
  rows: { server: string; label: string; bars: (Bar | undefined)[] }[];
  scale: 'linear' | 'log';
  /** A reference line (1.0x, or the 50 ms stall target). */
  reference?: { value: number; label: string };
}

function drawPanel(panel: Panel, top: number, series: string[]): { svg: string; height: number } {
  const values = panel.rows.flatMap((r) => r.bars.filter((b): b is Bar => b !== undefined).map((b) => b.value));
  const max = Math.max(...values, panel.reference?.value ?? 0) * 1.08;
  const minLog = 0;
  const maxLog = Math.log10(Math.max(10, max));
  const x = (v: number): number => {
    if (panel.scale === 'linear') return LABEL + (BAR_AREA * Math.max(0, v)) / (max || 1);
    const l = Math.log10(Math.max(1, v));
    return LABEL + (BAR_AREA * (l - minLog)) / (maxLog - minLog || 1);
  };
  const parts: string[] = [];
  parts.push(`<text x="16" y="${top + 22}" font-size="15" font-weight="600" fill="#111827">${xml(panel.title)}</text>`);
  const axisTop = top + PANEL_HEAD - 8;
  const ROW = series.length * BAR + 8;
  const height = PANEL_HEAD + panel.rows.length * ROW + 22;
  const axisBottom = top + height - 18;
  // Grid lines and tick labels.
  const ticks: number[] = [];
  if (panel.scale === 'linear') {
    // At most about 12 grid lines, on round steps.
    const step = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100].find((candidate) => max / candidate <= 12) ?? max / 10;
    for (let t = 0; t <= max; t += step) ticks.push(t);
  } else {
    for (let t = 1; t <= 10 ** maxLog; t *= 10) ticks.push(t);
  }
  for (const t of ticks) {
    const tx = x(t);
    parts.push(`<line x1="${tx}" y1="${axisTop}" x2="${tx}" y2="${axisBottom}" stroke="#e5e7eb"/>`);
    const label = panel.scale === 'linear' ? `${t}x` : t >= 1000 ? `${t / 1000} s` : `${t} ms`;
    parts.push(
      `<text x="${tx}" y="${axisBottom + 13}" font-size="10" fill="#6b7280" text-anchor="middle">${label}</text>`,
    );
  }
  if (panel.reference) {
    const rx = x(panel.reference.value);
    parts.push(
      `<line x1="${rx}" y1="${axisTop}" x2="${rx}" y2="${axisBottom}" stroke="#b91c1c" stroke-dasharray="4 3"/>`,
    );
    parts.push(
      `<text x="${rx + 4}" y="${axisTop + 8}" font-size="10" fill="#b91c1c">${xml(panel.reference.label)}</text>`,
    );
  }
  panel.rows.forEach((row, i) => {
    const y = top + PANEL_HEAD + i * ROW;
    const weight = row.server.startsWith('ssekit') ? '600' : '400';
    parts.push(
      `<text x="${LABEL - 8}" y="${y + BAR + 4}" font-size="12" font-weight="${weight}" fill="#111827" text-anchor="end">${xml(row.label)}</text>`,
    );
    row.bars.forEach((bar, j) => {
      const by = y + j * BAR;
      const opacity = OPACITY[j] ?? 1;
      if (bar === undefined) {
        parts.push(
          `<text x="${LABEL + 4}" y="${by + BAR - 1}" font-size="9" fill="#9ca3af">${series[j]}: not measured</text>`,
        );
        return;
      }
      const w = Math.max(1, x(bar.value) - LABEL);
      parts.push(
        `<rect x="${LABEL}" y="${by}" width="${w.toFixed(1)}" height="${BAR - 1}" fill="${colour(row.server)}" fill-opacity="${opacity}"/>`,
      );
      parts.push(
        `<text x="${(LABEL + w + 4).toFixed(1)}" y="${by + BAR - 1}" font-size="9" fill="#374151">${xml(`${series[j]}: ${bar.text}`)}</text>`,
      );
    });
  });
  return { svg: parts.join('\n'), height };
}

const fmtRatio = (v: number): string => `${v.toFixed(2)}x`;
const fmtMs = (v: number): string =>
  v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;

const MODES: readonly Mode[] = ['burst', 'tick', 'rate'];
const MODE_LABELS: Record<Mode, string> = { burst: 'burst', tick: 'one per turn', rate: 'fixed rate' };

/** The SVG, or `undefined` when there is nothing to draw. */
export function chart(summaries: CellSummary[], baselineName: string, subtitle: string): string | undefined {
  if (summaries.length === 0) return undefined;
  const conns = Math.max(...summaries.map((s) => s.conns));
  const size = Math.max(...summaries.filter((s) => s.conns === conns).map((s) => s.size));
  const modes = MODES.filter((m) => summaries.some((s) => s.mode === m));
  const series = modes.map((m) => MODE_LABELS[m]);
  const order = SERVERS.map((s) => s.name);
  const servers = [...new Set(summaries.filter((s) => s.conns === conns).map((s) => s.server))].sort(
    (a, b) => order.indexOf(a) - order.indexOf(b),
  );
  const label = (name: string): string => {
    const spec = SERVERS.find((s) => s.name === name);
    return spec?.short ?? spec?.label ?? name;
  };
  const cell = (server: string, mode: Mode): CellSummary | undefined =>
    summaries.find((s) => s.server === server && s.conns === conns && s.size === size && s.mode === mode && s.runs > 0);
  const rows = (pick: (s: CellSummary) => number, fmt: (v: number) => string) =>
    servers.map((server) => ({
      server,
      label: label(server),
      bars: modes.map((mode) => {
        const s = cell(server, mode);
        const v = s === undefined ? Number.NaN : pick(s);
        return Number.isFinite(v) ? { value: v, text: fmt(v) } : undefined;
      }),
    }));
  const baseline = label(baselineName);
  const n = conns.toLocaleString('en-US');
  const payload = size >= 1024 && size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
  const panels: Panel[] = [
    {
      title: `Server CPU per delivered event, as a multiple of ${baseline}'s (lower is better)`,
      rows: rows((s) => s.ratio.cpuMsPer1k ?? Number.NaN, fmtRatio),
      scale: 'linear',
      reference: { value: 1, label: baseline },
    },
    {
      title: `p99 latency, as a multiple of ${baseline}'s (lower is better)`,
      rows: rows((s) => s.ratio.p99Ms ?? Number.NaN, fmtRatio),
      scale: 'linear',
      reference: { value: 1, label: baseline },
    },
    {
      title: 'Longest event-loop stall of the server (log scale, lower is better)',
      rows: rows((s) => s.median.stallMs ?? Number.NaN, fmtMs),
      scale: 'log',
      reference: { value: 50, label: '50 ms target' },
    },
  ];
  const parts: string[] = [];
  let top = 56;
  for (const panel of panels) {
    const drawn = drawPanel(panel, top, series);
    parts.push(drawn.svg);
    top += drawn.height + 12;
  }
  const legend = series
    .map(
      (s, j) =>
        `<rect x="${LABEL + j * 130}" y="34" width="14" height="9" fill="#0f766e" fill-opacity="${OPACITY[j] ?? 1}"/><text x="${LABEL + j * 130 + 19}" y="42" font-size="11" fill="#374151">${xml(s)}</text>`,
    )
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top + 8}" viewBox="0 0 ${WIDTH} ${top + 8}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="22" font-size="17" font-weight="700" fill="#111827">${xml(`SSE fan-out to ${n} connections, ${payload} events: burst and steady`)}</text>`,
    `<text x="${WIDTH - 16}" y="42" font-size="10" fill="#6b7280" text-anchor="end">${xml(subtitle)}</text>`,
    legend,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
