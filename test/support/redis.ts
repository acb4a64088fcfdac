import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { createHub, type Hub } from '@ssekit/core';
import { createRedisBroker, type RedisBroker, type RedisBrokerOptions } from '@ssekit/redis';
import { afterAll, beforeAll } from 'vitest';
import { type RecordingLogger, recordingLogger } from './logger.js';
import { requirePart } from './requirements.js';
import { freePort, listen, type Running } from './server.js';
import { serveHub } from './stream-server.js';
import { sleep } from './wait.js';

// Real Redis for the broker tests: a `redis-server` child on a free port (never the system Redis on 6379), or the
// server `REDIS_URL` points at. Plus what multi-instance tests need around it: a raw admin connection, SSE instances
// (each its own HTTP server, hub and broker) and a small load balancer in front of them.

// ---------------------------------------------------------------------------------------------------------------
// The server

/** Where `redis-server` is: `$REDIS_SERVER`, else the first one on PATH (Debian: /usr/bin/redis-server). */
export function redisServerPath(): string | undefined {
  const candidates = [
    process.env.REDIS_SERVER,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server')),
    '/usr/bin/redis-server',
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not there; try the next one.
    }
  }
  return undefined;
}

/** Whether Redis tests can run here: `REDIS_URL` or a `redis-server` binary (throws under CI=true when neither). */
export function redisRequirement(): { skip: boolean } {
  return requirePart(
    'redis-server',
    Boolean(process.env.REDIS_URL) || redisServerPath() !== undefined,
    'install it with `apt-get install redis-server` (Debian), or set REDIS_URL to a Redis the tests may use.',
  );
}

/**
 * Whether the fault tests can run: they kill and restart Redis, which needs a server of their own (not `REDIS_URL`).
 * Throws under CI=true when they cannot.
 */
export function restartableRedisRequirement(): { skip: boolean } {
  return requirePart(
    'a redis-server the tests start themselves',
    redisServerPath() !== undefined && !process.env.REDIS_URL,
    'the Redis fault tests kill and restart the server; unset REDIS_URL and install redis-server.',
  );
}

/** A Redis for one test file. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** True for the server `REDIS_URL` names: it cannot be killed or restarted. */
  readonly external: boolean;
  /** Kills the server (SIGKILL: no shutdown, no save) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. Data is gone (no persistence). */
  restart(): Promise<void>;
  /** Stops it for good (idempotent). */
  close(): Promise<void>;
}

/**
 * One Redis for the tests of the calling describe block: started before the first (`beforeAll`), stopped after the
 * last (`afterAll`). Use it in tests and in hooks registered after this call.
 */
export function redisForSuite(): RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.close();
  });
  const started = (): RedisServer => {
    if (server === undefined) throw new Error('Redis starts in beforeAll: use it in tests and later hooks only.');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get external() {
      return started().external;
    },
    kill: () => started().kill(),
    restart: () => started().restart(),
    close: () => started().close(),
  };
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts a `redis-server` on a free 127.0.0.1 port, without persistence (`--save "" --appendonly no`), or wraps the
 * server `REDIS_URL` names. Tests must use keys of their own (see {@link uniqueKey}) and never flush a database.
 */
export async function startRedis(): Promise<RedisServer> {
  const externalUrl = process.env.REDIS_URL;
  if (externalUrl) {
    const port = Number(new URL(externalUrl).port || 6379);
    const notOurs = () => Promise.reject(new Error('REDIS_URL is an external server: the tests cannot kill it.'));
    return { url: externalUrl, port, external: true, kill: notOurs, restart: notOurs, close: async () => undefined };
  }
  const binary = redisServerPath();
  if (binary === undefined) throw new Error('redis-server is not installed (see redisRequirement()).');
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test process that dies must not leave servers behind.
    process.once('exit', () => {
      for (const child of children) child.kill('SIGKILL');
    });
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let child: ChildProcess | undefined;
    try {
      child = await launch(binary, port);
    } catch (error) {
      lastError = error;
      continue;
    }
    let current: ChildProcess | undefined = child;
    let closed = false;
    const server: RedisServer = {
      url: `redis://127.0.0.1:${port}`,
      port,
      external: false,
      async kill() {
        const victim = current;
        current = undefined;
        if (victim) await stopChild(victim, 'SIGKILL');
      },
      async restart() {
        if (closed) throw new Error('This Redis server was closed.');
        if (current) await stopChild(current, 'SIGKILL');
        current = undefined;
        // The port was ours a moment ago; another process taking it meanwhile is possible but rare: retry briefly.
        const deadline = Date.now() + 5000;
        for (;;) {
          try {
            current = await launch(binary, port);
            return;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await sleep(50);
          }
        }
      },
      async close() {
        closed = true;
        const victim = current;
        current = undefined;
        if (victim) await stopChild(victim, 'SIGKILL');
      },
    };
    return server;
  }
  throw new Error(`Could not start redis-server: ${String(lastError)}`);
}

async function launch(binary: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    children.delete(child);
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`redis-server on port ${port} exited at start: ${output.trim().slice(-400)}`);
    if (await answersPing(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output.trim().slice(-400)}`);
    }
    await sleep(20);
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await redisCommand(`redis://127.0.0.1:${port}`, ['PING'], 500)) === 'PONG';
  } catch {
    return false;
  }
}

/** A stream key no other test (or test run) uses. */
export function uniqueKey(name: string): string {
  return `ssekit-test:${name}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// A raw admin connection: one command, one RESP2 reply. Tests use it to inspect and disturb Redis (XLEN, DEL,
// CLIENT KILL) without going through the code under test.

/** Sends one command on a fresh connection and resolves with the decoded reply (rejects on an error reply). */
export function redisCommand(url: string, args: readonly string[], timeout = 5000): Promise<unknown> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`Redis did not answer ${args[0]} within ${timeout} ms`)), timeout);
    const finish = (error: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.on('error', (error) => finish(error));
    socket.on('connect', () => {
      let out = `*${args.length}\r\n`;
      for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
      socket.write(out);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseReply(buffer, 0);
      if (parsed === undefined) return;
      if (parsed.value instanceof Error) finish(parsed.value);
      else finish(undefined, parsed.value);
    });
  });
}

/** Every key Redis holds under `pattern` (SCAN, which never returns an expired key). */
export async function keysOf(url: string, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await redisCommand(url, ['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [
      string,
      string[],
    ];
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

function parseReply(buffer: Buffer, offset: number): { value: unknown; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[offset] as number);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: unknown[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (item === undefined) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      return { value: new Error(`Unexpected RESP type ${JSON.stringify(type)}`), end: buffer.length };
  }
}

/** Kills the connections whose `CLIENT SETNAME` name is `name` (e.g. `ssekit-reader`). Resolves with how many. */
export async function killClients(url: string, name: string): Promise<number> {
  const list = String(await redisCommand(url, ['CLIENT', 'LIST']));
  let killed = 0;
  for (const line of list.split('\n')) {
    if (!line.includes(` name=${name} `)) continue;
    const id = /(?:^|\s)id=(\d+)/.exec(line)?.[1];
    if (id === undefined) continue;
    killed += Number(await redisCommand(url, ['CLIENT', 'KILL', 'ID', id]));
  }
  return killed;
}

/**
 * A TCP proxy in front of Redis that can fail the way a network does: `freeze()` stops forwarding in both
 * directions without closing anything (a dropped NAT entry, a partitioned link: the sockets stay "open" and simply
 * go quiet), and holds new connections the same way; `thaw()` forwards again for connections made from then on.
 * `freezeReplies()` drops only what Redis answers: commands still reach it and run, but their replies are lost, as
 * when a link fails after the request went through (the case where a publish times out yet was stored).
 * `stallReplies(command)` drops the replies of the connections that send `command` (e.g. `XREAD`: the blocking
 * readers), while the others go on: a reader stuck behind while its instance still publishes and replays.
 */
export interface FlakyLink {
  readonly url: string;
  freeze(): void;
  freezeReplies(): void;
  stallReplies(command: string): void;
  thaw(): void;
  close(): Promise<void>;
}

/** The name of each command in a chunk of RESP requests (`*<n>\r\n$<len>\r\n<NAME>\r\n`). */
const COMMAND_NAME = /\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g;

export async function startFlakyLink(redisUrl: string): Promise<FlakyLink> {
  const target = new URL(redisUrl);
  let frozen = false;
  let repliesFrozen = false;
  let stalled: string | undefined;
  const link = await listen(
    net.createServer((client) => {
      client.on('error', () => client.destroy());
      if (frozen) return; // held: accepted, never answered
      const upstream = net.connect({ host: target.hostname, port: Number(target.port || 6379) });
      upstream.on('close', () => client.destroy());
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      // The names of the commands this connection sent (a handful: the set stays small).
      const commands = new Set<string>();
      client.on('data', (chunk) => {
        for (const match of chunk.toString('latin1').matchAll(COMMAND_NAME)) commands.add(match[1] as string);
        if (!frozen) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (!frozen && !repliesFrozen && !(stalled !== undefined && commands.has(stalled))) client.write(chunk);
      });
    }),
  );
  return {
    url: `redis://127.0.0.1:${link.port}`,
    freeze: () => {
      frozen = true;
    },
    freezeReplies: () => {
      repliesFrozen = true;
    },
    stallReplies: (command) => {
      stalled = command.toUpperCase();
    },
    thaw: () => {
      frozen = false;
      repliesFrozen = false;
      stalled = undefined;
    },
    close: link.close,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// SSE instances: the way an app runs behind a load balancer, each with its own server, hub and broker.

/** One app instance: a `node:http` server whose `/events` route serves SSE through `hub`. */
export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly hub: Hub;
  readonly server: Running;
  /** Closes the hub (clients get a `retry` hint of `retry` ms) and the server. */
  close(retry?: number): Promise<void>;
}

/**
 * Starts an instance serving `GET /events?client=<id>&topics=a,b` with `hub` (created by the caller with its own
 * broker), through core's `openConnection` as the Express and Fastify adapters do (see {@link serveHub}).
 */
export async function startInstance(name: string, hub: Hub): Promise<Instance> {
  const server = await serveHub(hub);
  let closing: Promise<void> | undefined;
  return {
    name,
    url: server.url,
    hub,
    server,
    close(retry = 50) {
      closing ??= (async () => {
        await hub.close({ retry });
        await server.close();
      })();
      return closing;
    },
  };
}

/** A load balancer in front of instances: each new request goes to `target()`, as a proxy would route it. */
export interface Balancer {
  readonly url: string;
  /** Requests forwarded, per instance URL. */
  readonly routed: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Starts a reverse proxy on 127.0.0.1 that streams each request to the instance `target()` names at that moment.
 * `target()` may return a promise: the request waits for it, like a client whose reconnect is slow.
 */
export async function startBalancer(target: () => string | Promise<string>): Promise<Balancer> {
  const routed = new Map<string, number>();
  const server = await listen(
    http.createServer(async (req, res) => {
      const upstream = await target();
      routed.set(upstream, (routed.get(upstream) ?? 0) + 1);
      const forward = http.request(
        `${upstream}${req.url ?? '/'}`,
        { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.flushHeaders();
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        },
      );
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      // A client that goes away closes its upstream connection too, as a real proxy does.
      res.on('close', () => forward.destroy());
      req.pipe(forward);
    }),
  );
  return { url: server.url, routed, close: () => server.close() };
}

/**
 * The two layouts of the Redis log, for tests of behaviours both must have: the single stream, and the partitioned
 * log (4 partitions, so that a few client ids and topics land in different ones).
 */
export const LOG_MODES = [
  { mode: 'single stream', options: {} },
  { mode: 'partitioned log', options: { partitions: 4 } },
] as const satisfies readonly { mode: string; options: RedisBrokerOptions }[];

/** Instances sharing one Redis stream, as an app scaled out: each its own server, hub and Redis broker. */
export interface Cluster {
  readonly key: string;
  readonly instances: Instance[];
  /** Everything the brokers and hubs logged. */
  readonly logger: RecordingLogger;
  /** The broker of instance `i`. */
  broker(i: number): RedisBroker;
  /** Adds one more instance on the same stream. */
  add(name: string, options?: RedisBrokerOptions): Promise<Instance>;
  close(): Promise<void>;
}

/**
 * Starts `names.length` instances on a fresh stream key of `redisUrl`, and waits until every broker reads the stream
 * (so an event published afterwards reaches every instance).
 */
export async function startCluster(
  redisUrl: string,
  names: string[],
  options: RedisBrokerOptions = {},
): Promise<Cluster> {
  const key = options.key ?? uniqueKey(names.join('-'));
  const logger = recordingLogger();
  const instances: Instance[] = [];
  const brokers = new Map<Instance, RedisBroker>();
  const add = async (name: string, extra: RedisBrokerOptions = {}) => {
    const broker = createRedisBroker({ url: redisUrl }, { logger, ...options, ...extra, key });
    const hub = createHub({ broker, logger });
    await hub.ready();
    const instance = await startInstance(name, hub);
    instances.push(instance);
    brokers.set(instance, broker);
    return instance;
  };
  for (const name of names) await add(name);
  return {
    key,
    instances,
    logger,
    broker: (i) => brokers.get(instances[i] as Instance) as RedisBroker,
    add,
    close: async () => {
      await Promise.all(instances.map((instance) => instance.close()));
    },
  };
}
