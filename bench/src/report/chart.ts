/**
 * docs/benchmarks.svg, drawn from the results with no external tool: at the largest connection count measured,
 * delivered events/s and server CPU per event as ratios to raw node:http, and the longest event-loop stall.
 */
import { SERVERS } from '../runner/servers.js';
import type { CellSummary } from './summary.js';

const WIDTH = 880;
const LABEL = 200;
const BAR_AREA = 560;
const BAR = 10;
const ROW = 2 * BAR + 8;
const PANEL_HEAD = 44;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';

const xml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function colour(server: string): string {
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
  /** A reference line (1.0x, or the 100 ms stall target). */
  reference?: { value: number; label: string };
}

function drawPanel(panel: Panel, top: number, sizes: string[]): { svg: string; height: number } {
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
  const height = PANEL_HEAD + panel.rows.length * ROW + 22;
  const axisBottom = top + height - 18;
  // Grid lines and tick labels.
  const ticks: number[] = [];
  if (panel.scale === 'linear') {
    const step = max > 4 ? 1 : max > 2 ? 0.5 : 0.25;
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
      const opacity = j === 0 ? 0.55 : 1;
      if (bar === undefined) {
        parts.push(
          `<text x="${LABEL + 4}" y="${by + BAR - 1}" font-size="9" fill="#9ca3af">${sizes[j]}: not measured</text>`,
        );
        return;
      }
      const w = Math.max(1, x(bar.value) - LABEL);
      parts.push(
        `<rect x="${LABEL}" y="${by}" width="${w.toFixed(1)}" height="${BAR - 1}" fill="${colour(row.server)}" fill-opacity="${opacity}"/>`,
      );
      parts.push(
        `<text x="${(LABEL + w + 4).toFixed(1)}" y="${by + BAR - 1}" font-size="9" fill="#374151">${xml(`${sizes[j]}: ${bar.text}`)}</text>`,
      );
    });
  });
  return { svg: parts.join('\n'), height };
}

const fmtRatio = (v: number): string => `${v.toFixed(2)}x`;
const fmtMs = (v: number): string =>
  v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;

/** The SVG, or `undefined` when there is nothing to draw. */
export function chart(summaries: CellSummary[], events: number, subtitle: string): string | undefined {
  if (summaries.length === 0) return undefined;
  const conns = Math.max(...summaries.map((s) => s.conns));
  const sizes = [...new Set(summaries.map((s) => s.size))].sort((a, b) => a - b);
  const sizeLabels = sizes.map((s) => (s >= 1024 && s % 1024 === 0 ? `${s / 1024} KiB` : `${s} B`));
  const order = SERVERS.map((s) => s.name);
  const servers = [...new Set(summaries.filter((s) => s.conns === conns).map((s) => s.server))].sort(
    (a, b) => order.indexOf(a) - order.indexOf(b),
  );
  const label = (name: string): string => SERVERS.find((s) => s.name === name)?.label ?? name;
  const cell = (server: string, size: number): CellSummary | undefined =>
    summaries.find((s) => s.server === server && s.conns === conns && s.size === size && s.runs > 0);
  const rows = (pick: (s: CellSummary) => number, fmt: (v: number) => string) =>
    servers.map((server) => ({
      server,
      label: label(server),
      bars: sizes.map((size) => {
        const s = cell(server, size);
        const v = s === undefined ? Number.NaN : pick(s);
        return Number.isFinite(v) ? { value: v, text: fmt(v) } : undefined;
      }),
    }));
  const n = conns.toLocaleString('en-US');
  const panels: Panel[] = [
    {
      title: `Delivered events/s, ${n} connections, as a multiple of raw node:http (higher is better)`,
      rows: rows((s) => s.ratio.eventsPerSec ?? Number.NaN, fmtRatio),
      scale: 'linear',
      reference: { value: 1, label: 'raw node:http' },
    },
    {
      title: `Server CPU per delivered event, ${n} connections, as a multiple of raw node:http (lower is better)`,
      rows: rows((s) => s.ratio.cpuMsPer1k ?? Number.NaN, fmtRatio),
      scale: 'linear',
      reference: { value: 1, label: 'raw node:http' },
    },
    {
      title: `Longest event-loop stall during the broadcast, ${n} connections (log scale, lower is better)`,
      rows: rows((s) => s.median.stallMs ?? Number.NaN, fmtMs),
      scale: 'log',
      reference: { value: 100, label: '100 ms target' },
    },
  ];
  const parts: string[] = [];
  let top = 56;
  for (const panel of panels) {
    const drawn = drawPanel(panel, top, sizeLabels);
    parts.push(drawn.svg);
    top += drawn.height + 12;
  }
  const legend = sizeLabels
    .map(
      (s, j) =>
        `<rect x="${LABEL + j * 110}" y="34" width="14" height="9" fill="#0f766e" fill-opacity="${j === 0 ? 0.55 : 1}"/><text x="${LABEL + j * 110 + 19}" y="42" font-size="11" fill="#374151">${xml(`${s} payload`)}</text>`,
    )
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top + 8}" viewBox="0 0 ${WIDTH} ${top + 8}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="22" font-size="17" font-weight="700" fill="#111827">SSE fan-out: one broadcast of ${events} events to ${n} connections</text>`,
    `<text x="${WIDTH - 16}" y="42" font-size="10" fill="#6b7280" text-anchor="end">${xml(subtitle)}</text>`,
    legend,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
