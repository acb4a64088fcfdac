/** The servers under test: one file each in ../servers, all with the same HTTP contract (see contract.ts). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ServerSpec {
  /** Name used in flags and results. */
  name: string;
  /** Name shown in tables. */
  label: string;
  /** Name shown in the chart, where the label is too long for its column. */
  short?: string;
  file: string;
  /** npm packages whose versions the report lists. */
  packages: string[];
  /** Takes BENCH_HEARTBEAT_MS (the heartbeat comparison runs on these). */
  heartbeat: boolean;
  /** True for ssekit itself (targets apply). */
  ssekit: boolean;
  /** A repository file that must exist for this server to run (adapters built by other work in progress). */
  requires?: string;
  /**
   * The server that holds a response open on the same stack without any SSE library: its JS heap per idle
   * connection is subtracted from this server's to give the library's own part.
   */
  floor?: string;
  /** ssekit only: the target of server CPU per delivered event, as a multiple of the batched raw server's. */
  cpuTarget?: number;
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const server = (file: string): string => fileURLToPath(new URL(`../servers/${file}`, import.meta.url));

/** The server every ratio is taken against. */
export const BASELINE = 'raw-batched';

export const SERVERS: readonly ServerSpec[] = [
  {
    name: BASELINE,
    label: 'batched raw node:http',
    file: server('raw-batched.ts'),
    packages: [],
    heartbeat: false,
    ssekit: false,
  },
  {
    name: 'raw-node',
    label: 'naive raw (one write per event per connection)',
    short: 'naive raw node:http',
    file: server('raw-node.ts'),
    packages: [],
    heartbeat: false,
    ssekit: false,
  },
  {
    name: 'express-raw',
    label: 'Express floor (raw writes)',
    file: server('express-raw.ts'),
    packages: ['express'],
    heartbeat: false,
    ssekit: false,
  },
  {
    name: 'fastify-raw',
    label: 'Fastify floor (raw writes)',
    file: server('fastify-raw.ts'),
    packages: ['fastify'],
    heartbeat: false,
    ssekit: false,
  },
  {
    name: 'ssekit-core',
    label: 'ssekit (core, node:http)',
    file: server('ssekit-core.ts'),
    packages: [],
    heartbeat: true,
    ssekit: true,
    floor: BASELINE,
    cpuTarget: 1.1,
  },
  {
    name: 'ssekit-core-otel',
    label: 'ssekit (core) with OpenTelemetry metrics',
    short: 'ssekit core + metrics',
    file: server('ssekit-core-otel.ts'),
    packages: ['@opentelemetry/sdk-metrics'],
    heartbeat: false,
    ssekit: true,
    floor: BASELINE,
    cpuTarget: 1.1,
  },
  {
    name: 'ssekit-express',
    label: 'ssekit + Express',
    file: server('ssekit-express.ts'),
    packages: ['express'],
    heartbeat: true,
    ssekit: true,
    requires: 'packages/express/src/index.ts',
    floor: 'express-raw',
    cpuTarget: 1.25,
  },
  {
    name: 'ssekit-fastify',
    label: 'ssekit + Fastify',
    file: server('ssekit-fastify.ts'),
    packages: ['fastify'],
    heartbeat: true,
    ssekit: true,
    requires: 'packages/fastify/src/index.ts',
    floor: 'fastify-raw',
    cpuTarget: 1.15,
  },
  {
    name: 'better-sse',
    label: 'better-sse + Express',
    file: server('better-sse.ts'),
    packages: ['better-sse', 'express'],
    heartbeat: true,
    ssekit: false,
    floor: 'express-raw',
  },
  {
    name: 'better-sse-node',
    label: 'better-sse (node:http)',
    file: server('better-sse-node.ts'),
    packages: ['better-sse'],
    heartbeat: true,
    ssekit: false,
    floor: BASELINE,
  },
  {
    name: 'better-sse-batched',
    label: 'better-sse (node:http, EventBuffer per turn)',
    short: 'better-sse, EventBuffer',
    file: server('better-sse-batched.ts'),
    packages: ['better-sse'],
    heartbeat: false,
    ssekit: false,
    floor: BASELINE,
  },
  {
    name: 'fastify-sse',
    label: '@fastify/sse',
    file: server('fastify-sse.ts'),
    packages: ['@fastify/sse', 'fastify'],
    heartbeat: true,
    ssekit: false,
    floor: 'fastify-raw',
  },
  {
    name: 'fastify-sse-v2',
    label: 'fastify-sse-v2',
    file: server('fastify-sse-v2.ts'),
    packages: ['fastify-sse-v2', 'fastify'],
    heartbeat: false,
    ssekit: false,
    floor: 'fastify-raw',
  },
  {
    name: 'express-sse',
    label: 'express-sse',
    file: server('express-sse.ts'),
    packages: ['express-sse', 'express'],
    heartbeat: false,
    ssekit: false,
    floor: 'express-raw',
  },
];

/** Whether a server can run in this checkout (its file and what it requires exist). */
export function available(spec: ServerSpec): boolean {
  return existsSync(spec.file) && (spec.requires === undefined || existsSync(REPO + spec.requires));
}

export function repoPath(relative: string): string {
  return REPO + relative;
}

/** The installed version of a package the bench depends on. */
export function versionOf(pkg: string): string {
  try {
    const json = JSON.parse(readFileSync(repoPath(`bench/node_modules/${pkg}/package.json`), 'utf8')) as {
      version: string;
    };
    return json.version;
  } catch {
    return 'unknown';
  }
}
