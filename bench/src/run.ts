/**
 * `pnpm bench`: ssekit against its peers and against raw `node:http` servers (the batched one is the baseline), in
 * burst and steady publishing modes, each server in a fresh process, the load from separate client processes on raw
 * sockets. See `--help` and docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { writeDocs } from './report/markdown.js';
import { formatCell, formatHeartbeat, printSummary } from './report/text.js';
import { type Options, parseArgs, USAGE } from './runner/args.js';
import { buildPackages, distExecArgv, stalePackages } from './runner/build.js';
import { type CellResult, type CellSpec, type Limits, runCell } from './runner/cell.js';
import { type HeartbeatResult, runHeartbeat } from './runner/heartbeat.js';
import { setClientFlags, setServerExecArgv } from './runner/processes.js';
import { type RedisOutcome, runRedis } from './runner/redis.js';
import { available, BASELINE, repoPath, SERVERS, type ServerSpec, versionOf } from './runner/servers.js';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  loadBefore: number[];
  loadAfter: number[];
  fileLimit: number;
}

export interface Build {
  /** `dist` (the built packages, as published) or `source` (TypeScript through tsx). */
  ssekit: 'dist' | 'source';
  /** The commit the bench ran on, and whether the tree had local changes. */
  commit: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: Machine;
  versions: Record<string, string>;
  build: Build;
  config: Omit<Options, 'parts' | 'servers'> & { parts: string[]; servers: string[] };
  cells: CellResult[];
  heartbeat: HeartbeatResult[];
  redis: RedisOutcome | undefined;
}

const RESULTS_DIR = repoPath('bench/results');
const RESULTS_FILE = repoPath('bench/results/results.json');
// `pnpm bench` runs in bench/; paths on the command line are meant from where the user typed them.
const INVOKED_FROM = process.env.INIT_CWD ?? process.cwd();

function fileLimits(): { soft: number; hard: number } {
  const out = spawnSync('bash', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  const [soft, hard] = out.stdout
    .trim()
    .split('\n')
    .map((v) => (v === 'unlimited' ? 1_048_576 : Number(v)));
  return { soft: soft ?? 1024, hard: hard ?? 1024 };
}

/** Raises the open-file limit to the hard limit by running this command again under `ulimit -n`. */
function reexecWithRaisedLimit(hard: number): never {
  const result = spawnSync(
    'bash',
    [
      '-c',
      'ulimit -n "$0" && exec "$@"',
      String(hard),
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, SSEKIT_BENCH_ULIMIT: String(hard) } },
  );
  process.exit(result.status ?? 1);
}

function selectServers(options: Options): ServerSpec[] {
  const wanted = options.servers;
  if (wanted !== undefined) {
    for (const name of wanted) {
      if (!SERVERS.some((s) => s.name === name)) {
        throw new Error(`unknown server ${name}; known: ${SERVERS.map((s) => s.name).join(', ')}`);
      }
    }
  }
  const selected = SERVERS.filter((s) => s.name === BASELINE || wanted === undefined || wanted.includes(s.name));
  return selected.filter((s) => {
    if (available(s)) return true;
    console.warn(`! ${s.name} skipped: ${s.requires ?? s.file} does not exist in this checkout`);
    return false;
  });
}

function versions(servers: ServerSpec[]): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node };
  for (const s of servers) for (const pkg of s.packages) out[pkg] = versionOf(pkg);
  out['@ssekit/core'] = JSON.parse(readFileSync(repoPath('packages/core/package.json'), 'utf8')).version;
  return out;
}

function commitOf(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: repoPath(''),
    encoding: 'utf8',
  }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'packages'], {
    cwd: repoPath(''),
    encoding: 'utf8',
  }).stdout.trim();
  return `${head || 'unknown'}${dirty ? ' (packages/ had uncommitted changes)' : ''}`;
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2), os.availableParallelism());
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const options = parsed;
  if (options.reportOnly) {
    const from = options.reportFrom === undefined ? RESULTS_FILE : resolve(INVOKED_FROM, options.reportFrom);
    const out = options.reportOut === undefined ? undefined : resolve(INVOKED_FROM, options.reportOut);
    const results = JSON.parse(readFileSync(from, 'utf8')) as BenchResults;
    if (out !== undefined) mkdirSync(out, { recursive: true });
    writeDocs(results, out);
    console.log(`${out ?? 'docs'}/benchmarks.md and benchmarks.svg regenerated from ${from}`);
    return 0;
  }

  const limits = fileLimits();
  if (limits.soft < limits.hard && process.env.SSEKIT_BENCH_ULIMIT === undefined) reexecWithRaisedLimit(limits.hard);
  // Each process keeps a few dozen descriptors for itself (stdio, IPC, epoll, the listening socket).
  const maxConns = limits.soft - 100;
  const clientLimits: Limits = { perClient: Math.min(10_000, maxConns), clients: options.clients };
  const tooMany = options.conns.filter((c) => c > maxConns);
  if (tooMany.length > 0) {
    throw new Error(`--conns ${tooMany.join(',')} exceeds what one server process can open (ulimit -n ${limits.soft})`);
  }
  const heartbeatConns = Math.min(options.heartbeatConns, maxConns);
  if (heartbeatConns < options.heartbeatConns) {
    console.warn(
      `! heartbeat test uses ${heartbeatConns} connections instead of ${options.heartbeatConns}: ulimit -n is ${limits.soft} (hard limit ${limits.hard})`,
    );
  }

  const servers = selectServers(options);
  if (options.source) {
    console.warn('! ssekit runs from its TypeScript sources (--source): expect more memory and CPU than its dist');
  } else {
    if (!options.noBuild) buildPackages();
    const stale = stalePackages();
    if (stale.length > 0) console.warn(`! dist older than src for: ${stale.join(', ')} (--no-build)`);
    setServerExecArgv(distExecArgv(process.execArgv));
    // tsx maps @ssekit/* to sources by the workspace tsconfig's paths; the servers read a tsconfig without them.
    process.env.TSX_TSCONFIG_PATH = repoPath('bench/tsconfig.dist.json');
  }
  const profiled = (s: ServerSpec): string[] =>
    options.cpuProf.includes(s.name) ? ['--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}/profiles`] : [];
  if (options.cpuProf.includes('client')) setClientFlags(['--cpu-prof', `--cpu-prof-dir=${RESULTS_DIR}/profiles`]);
  const startedAt = new Date();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const rawFile = `${RESULTS_DIR}/raw-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`;
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      loadBefore: os.loadavg(),
      loadAfter: [],
      fileLimit: limits.soft,
    },
    versions: versions(servers),
    build: { ssekit: options.source ? 'source' : 'dist', commit: commitOf() },
    config: {
      ...options,
      parts: [...options.parts],
      servers: servers.map((s) => s.name),
      heartbeatConns,
    },
    cells: [],
    heartbeat: [],
    redis: undefined,
  };
  const save = (): void => writeFileSync(rawFile, `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `ssekit bench: ${servers.map((s) => s.name).join(', ')}; ${os.availableParallelism()} CPUs, Node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  if (options.parts.has('matrix')) {
    for (let run = 1; run <= options.runs; run++) {
      for (const mode of options.modes) {
        for (const conns of options.conns) {
          for (const size of options.sizes) {
            // Servers interleaved within a run: drifting background load hits every server of a cell alike.
            for (const spec of servers) {
              const cell: CellSpec = {
                conns,
                size,
                events: mode === 'rate' ? options.rate * options.duration : options.events,
                warmup: options.warmup,
                mode,
                rate: options.rate,
              };
              const result = await runCell(spec, cell, run, clientLimits, profiled(spec));
              results.cells.push(result);
              console.log(formatCell(result, options.runs));
              save();
            }
          }
        }
      }
    }
  }

  if (options.parts.has('heartbeat')) {
    const candidates = servers.filter((s) => s.heartbeat);
    for (let run = 1; run <= options.runs; run++) {
      for (const spec of candidates) {
        const result = await runHeartbeat(
          spec,
          heartbeatConns,
          options.heartbeatSeconds,
          run,
          clientLimits,
          profiled(spec),
        );
        results.heartbeat.push(result);
        console.log(formatHeartbeat(result, options.runs));
        save();
      }
    }
  }

  if (options.parts.has('redis')) {
    results.redis = await runRedis(options);
    save();
  }

  results.machine.loadAfter = os.loadavg();
  results.finishedAt = new Date().toISOString();
  save();
  printSummary(results);
  if (options.writeDocs) {
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    writeDocs(results);
    console.log('wrote docs/benchmarks.md, docs/benchmarks.svg and bench/results/results.json');
  }
  console.log(`raw results: ${rawFile}`);
  const failures =
    results.cells.filter((c) => !c.ok).length +
    results.heartbeat.filter((h) => !h.ok).length +
    (results.redis?.runs.filter((r) => !r.ok).length ?? 0);
  if (failures > 0) {
    console.error(`\n${failures} run(s) FAILED (lost, duplicated or reordered events, or a process died): see above.`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(2);
  },
);
