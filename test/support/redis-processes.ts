import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { redisCommand, redisServerPath } from './redis.js';
import { freePort } from './server.js';
import { sleep } from './wait.js';

// The redis-server processes of one test topology (a cluster, a Sentinel group): each on a free 127.0.0.1 port,
// logging to a file in a directory of their own, SIGKILLed by close() or when the test process exits.

// Every process any topology of this test process started, killed if the process exits before its suite closes it.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A set of redis-server processes sharing a working directory. */
export class RedisProcesses {
  /** Their working directory, which also holds their logs. */
  readonly dir: string;
  private readonly binary: string;
  private readonly children = new Map<string, ChildProcess>();
  private closed = false;

  constructor(prefix: string) {
    const binary = redisServerPath();
    if (binary === undefined) throw new Error('redis-server is not installed.');
    this.binary = binary;
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const child of live) child.kill('SIGKILL');
      });
    }
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** The URLs of the processes still running, in the order they started. */
  get urls(): string[] {
    return [...this.children.keys()];
  }

  /**
   * Starts `redis-server` with `args(port)` on a port from `pickPort`, and waits for its PING. A port taken between
   * the pick and the start (another test's server) is retried on another.
   */
  async start(args: (port: number) => string[], pickPort: () => Promise<number> = freePort): Promise<string> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await pickPort();
      const child = spawn(this.binary, args(port), { stdio: 'ignore' });
      live.add(child);
      child.once('exit', () => live.delete(child));
      const url = `redis://127.0.0.1:${port}`;
      try {
        await untilPing(url, child);
        this.children.set(url, child);
        return url;
      } catch (error) {
        lastError = error;
        await stop(child);
      }
    }
    throw new Error(`Could not start redis-server: ${String(lastError)}\n${this.logs()}`);
  }

  /** SIGKILLs the process at `url` (no shutdown, no save). */
  async kill(url: string): Promise<void> {
    const child = this.children.get(url);
    this.children.delete(url);
    if (child !== undefined) await stop(child);
  }

  /** The last lines of every process's log, for a failure message. */
  logs(): string {
    if (!existsSync(this.dir)) return '(no logs)';
    return readdirSync(this.dir)
      .filter((name) => name.endsWith('.log'))
      .map(
        (name) => `--- ${name}\n${readFileSync(join(this.dir, name), 'utf8').trim().split('\n').slice(-8).join('\n')}`,
      )
      .join('\n');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.children.values()].map((child) => stop(child)));
    this.children.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Something started for the tests of the calling describe block: in `beforeAll`, closed in `afterAll` — also when
 * `beforeAll` timed out while it was starting (it is then closed once the start settles).
 */
export function startedForSuite<T extends { close(): Promise<void> }>(
  what: string,
  start: () => Promise<T>,
  timeout = 60_000,
): () => T {
  let starting: Promise<T> | undefined;
  let started: T | undefined;
  beforeAll(async () => {
    starting = start();
    started = await starting;
  }, timeout);
  afterAll(async () => {
    const settled = await starting?.catch(() => undefined);
    await settled?.close();
  });
  return () => {
    if (started === undefined) throw new Error(`${what} starts in beforeAll: use it in tests only.`);
    return started;
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function untilPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await redisCommand(url, ['PING'], 500).catch(() => '')) !== 'PONG') {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${url} exited at start.`);
    if (Date.now() > deadline) throw new Error(`${url} did not start.`);
    await sleep(20);
  }
}
