/**
 * Reads a `--cpu-prof` profile (from `pnpm bench --cpu-prof=<server>`) and prints where the time went: self time by
 * function, and the longest stretches of consecutive busy samples (event-loop stalls) with their top functions.
 *
 * Usage: `pnpm --filter @ssekit/bench exec tsx src/tools/profile-summary.ts <file.cpuprofile> [top]`
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: profile-summary <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

const name = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where =
    url === '' ? '' : ` ${url.replace(/^file:\/\/.*?\/(node_modules|packages|bench)\//, '$1/')}:${lineNumber + 1}`;
  return `${functionName || '(anonymous)'}${where}`;
};
const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);
const idle = (node: ProfileNode): boolean => node.callFrame.functionName === '(idle)';

function selfTimes(from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = from; i < to; i++) {
    const node = byId.get(profile.samples[i] as number) as ProfileNode;
    const key = name(node);
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  return out;
}

function print(title: string, times: Map<string, number>, limit: number): void {
  const total = [...times.values()].reduce((a, b) => a + b, 0);
  const busy = [...times.entries()].filter(([k]) => !IDLE.has(k.split(' ')[0] as string) || k.startsWith('(garbage'));
  const busyTotal = busy.reduce((a, [, v]) => a + v, 0);
  console.log(`\n${title}: ${(total / 1000).toFixed(0)} ms sampled, ${(busyTotal / 1000).toFixed(0)} ms busy`);
  for (const [key, us] of busy.sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    console.log(
      `  ${(us / 1000).toFixed(1).padStart(8)} ms  ${((100 * us) / busyTotal).toFixed(1).padStart(5)}%  ${key}`,
    );
  }
}

print('self time, whole profile', selfTimes(0, profile.samples.length), top);

// Stalls: runs of samples with no idle sample in between.
const stretches: { from: number; to: number; us: number }[] = [];
let start = -1;
let us = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i] as number) as ProfileNode;
  if (idle(node)) {
    if (start !== -1) stretches.push({ from: start, to: i, us });
    start = -1;
    us = 0;
  } else {
    if (start === -1) start = i;
    us += profile.timeDeltas[i + 1] ?? 0;
  }
}
if (start !== -1) stretches.push({ from: start, to: profile.samples.length, us });
stretches.sort((a, b) => b.us - a.us);
for (const [i, s] of stretches.slice(0, 3).entries()) {
  print(`busy stretch #${i + 1} (no idle sample)`, selfTimes(s.from, s.to), 12);
}
