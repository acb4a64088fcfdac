/** Command-line flags of `pnpm bench`. */
import { MAX_EVENTS, MAX_RATE, MODES, type Mode } from '../servers/contract.js';

export interface Options {
  quick: boolean;
  servers: string[] | undefined;
  conns: number[];
  sizes: number[];
  events: number;
  warmup: number;
  /** How each cell's events are published (see contract.ts): each mode is a cell of its own. */
  modes: Mode[];
  /** `rate` mode: events per second. */
  rate: number;
  /** `rate` mode: seconds of the measured round. */
  duration: number;
  /** Least number of load-client processes per cell (more when one would exceed its open-file limit). */
  clients: number;
  runs: number;
  parts: Set<Part>;
  heartbeatConns: number;
  heartbeatSeconds: number;
  /** Write docs/benchmarks.md, docs/benchmarks.svg and bench/results/results.json. */
  writeDocs: boolean;
  /** Only regenerate the docs from bench/results/results.json (or `--from`). */
  reportOnly: boolean;
  /** `--report`: the results file to read. */
  reportFrom: string | undefined;
  /** `--report`: write benchmarks.md and .svg into this directory instead of docs/. */
  reportOut: string | undefined;
  /** Servers to run with `--cpu-prof` (profiles land in bench/results/profiles). */
  cpuProf: string[];
  /** Run ssekit from its TypeScript sources (through tsx) instead of its built dist. */
  source: boolean;
  /** Do not build stale ssekit packages first. */
  noBuild: boolean;
}

export type Part = 'matrix' | 'heartbeat' | 'redis';
const PARTS: readonly Part[] = ['matrix', 'heartbeat', 'redis'];

export const USAGE = `pnpm bench [flags]

  --quick                  100 and 1,000 connections, 1 run, 2 s fixed-rate rounds, short heartbeat test; no docs
  --servers=a,b            servers to run (raw-batched, the baseline, is always added)
  --conns=100,1000,5000    connection counts
  --sizes=64,1024          payload sizes in bytes
  --events=100             events per round in the burst and tick modes
  --modes=burst,tick,rate  burst: all events in one synchronous loop; tick: one event per event-loop turn;
                           rate: --rate events per second for --duration seconds (each mode is a cell of its own)
  --rate=1000              events per second of the rate mode
  --duration=10            seconds of the rate mode's measured round (quick: 2)
  --warmup=N               events of the unmeasured warm-up round (default: --events, quick: 20)
  --clients=N              load-client processes per cell, the connections split evenly (default: CPUs - 1, at
                           least 1, at most 4; more when one process would exceed 10,000 connections)
  --runs=3                 runs per cell; figures are medians
  --parts=matrix,heartbeat,redis
  --heartbeat-conns=20000  idle connections of the heartbeat test (capped by the open-file limit)
  --heartbeat-seconds=10   measuring window of the heartbeat test
  --docs / --no-docs       write docs/benchmarks.md and .svg (default: on for a full run, off otherwise)
  --report                 only regenerate the docs from bench/results/results.json
  --from=FILE              with --report: read this results file (a full run's, or a raw-*.json)
  --out=DIR                with --report: write benchmarks.md and benchmarks.svg into DIR, not docs/
  --cpu-prof=a,b           run these servers (or 'client': the load clients) with --cpu-prof (bench/results/profiles)
  --source                 run ssekit from its TypeScript sources instead of its built dist
  --no-build               do not build ssekit packages whose dist is older than their sources
  --help`;

function list(value: string, name: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`--${name} needs at least one value`);
  return items;
}

function numbers(value: string, name: string, min: number, max: number): number[] {
  return list(value, name).map((item) => {
    const n = Number(item.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new Error(`--${name}: ${item} is not a whole number in ${min}..${max}`);
    return n;
  });
}

function one(value: string, name: string, min: number, max: number): number {
  return numbers(value, name, min, max)[0] as number;
}

/** One client process per core the server does not need, up to 4: more only compete with the server for a core. */
export function defaultClients(cpus: number): number {
  return Math.max(1, Math.min(4, cpus - 1));
}

export function parseArgs(argv: string[], cpus: number): Options | 'help' {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    servers: undefined,
    conns: quick ? [100, 1000] : [100, 1000, 5000],
    sizes: [64, 1024],
    events: 100,
    warmup: -1,
    modes: [...MODES],
    rate: 1000,
    duration: quick ? 2 : 10,
    clients: defaultClients(cpus),
    runs: quick ? 1 : 3,
    parts: new Set(PARTS),
    heartbeatConns: quick ? 2000 : 20_000,
    heartbeatSeconds: quick ? 3 : 10,
    writeDocs: false,
    reportOnly: false,
    reportFrom: undefined,
    reportOut: undefined,
    cpuProf: [],
    source: false,
    noBuild: false,
  };
  let docs: boolean | undefined;
  let customMatrix = false;
  for (const arg of argv) {
    const [flag, value = ''] = arg.split(/=(.*)/s, 2) as [string, string?];
    switch (flag) {
      case '--quick':
        break;
      case '--help':
      case '-h':
        return 'help';
      case '--servers':
        o.servers = list(value, 'servers');
        customMatrix = true;
        break;
      case '--conns':
        o.conns = numbers(value, 'conns', 1, 100_000);
        customMatrix = true;
        break;
      case '--sizes':
        o.sizes = numbers(value, 'sizes', 40, 65_536);
        customMatrix = true;
        break;
      case '--events':
        o.events = one(value, 'events', 1, 10_000);
        customMatrix = true;
        break;
      case '--modes':
        o.modes = list(value, 'modes').map((m) => {
          if (!MODES.includes(m as Mode)) throw new Error(`--modes: unknown mode ${m} (${MODES.join(', ')})`);
          return m as Mode;
        });
        customMatrix = true;
        break;
      case '--rate':
        o.rate = one(value, 'rate', 1, MAX_RATE);
        customMatrix = true;
        break;
      case '--duration':
        o.duration = one(value, 'duration', 1, 100);
        customMatrix = true;
        break;
      case '--clients':
        o.clients = one(value, 'clients', 1, 16);
        break;
      case '--warmup':
        o.warmup = one(value, 'warmup', 0, 10_000);
        break;
      case '--runs':
        o.runs = one(value, 'runs', 1, 20);
        customMatrix = true;
        break;
      case '--parts':
        o.parts = new Set(
          list(value, 'parts').map((p) => {
            if (!PARTS.includes(p as Part)) throw new Error(`--parts: unknown part ${p} (${PARTS.join(', ')})`);
            return p as Part;
          }),
        );
        customMatrix = true;
        break;
      case '--heartbeat-conns':
        o.heartbeatConns = one(value, 'heartbeat-conns', 1, 100_000);
        break;
      case '--heartbeat-seconds':
        o.heartbeatSeconds = one(value, 'heartbeat-seconds', 1, 300);
        break;
      case '--docs':
        docs = true;
        break;
      case '--no-docs':
        docs = false;
        break;
      case '--report':
        o.reportOnly = true;
        break;
      case '--from':
        if (value === '') throw new Error('--from needs a file');
        o.reportFrom = value;
        break;
      case '--out':
        if (value === '') throw new Error('--out needs a directory');
        o.reportOut = value;
        break;
      case '--source':
        o.source = true;
        customMatrix = true;
        break;
      case '--no-build':
        o.noBuild = true;
        break;
      case '--cpu-prof':
        o.cpuProf = list(value, 'cpu-prof');
        break;
      default:
        throw new Error(`unknown flag ${arg}\n\n${USAGE}`);
    }
  }
  if (o.warmup === -1) o.warmup = quick ? 20 : o.events;
  if (o.modes.includes('rate') && o.rate * o.duration > MAX_EVENTS) {
    throw new Error(`--rate × --duration is ${o.rate * o.duration} events; at most ${MAX_EVENTS} per round`);
  }
  // The docs hold a full run unless asked otherwise.
  o.writeDocs = docs ?? (!quick && !customMatrix);
  return o;
}
