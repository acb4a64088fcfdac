import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Test helpers that run in separate Node processes: a load server or load client needs its own file limit (Node
 * cannot raise `RLIMIT_NOFILE` from inside), its own heap to measure (`--expose-gc`), and must not share an event
 * loop with the process that measures it. The parent drives a child through request/response messages over IPC.
 */

/** The soft and hard limits on open files of a shell started from this process. */
export function fileLimits(): { soft: number; hard: number } {
  const out = execFileSync('bash', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
  const parse = (value: string | undefined) => (value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value));
  return { soft: parse(out[0]), hard: parse(out[1]) };
}

/**
 * The open-file limit a child can get: `wanted` when the hard limit allows it, else the hard limit. A child with
 * 10,000 sockets needs about 10,100 descriptors.
 */
export function reachableFileLimit(wanted: number): number {
  return Math.min(wanted, fileLimits().hard);
}

/** Options of {@link startChild}. */
export interface ChildOptions {
  /** Open-file limit for the child (`ulimit -n` in a shell that then `exec`s node). */
  fileLimit?: number;
  /** Pass `--expose-gc` so the child can force collections before measuring its heap. */
  exposeGc?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /**
   * Scheduling niceness (`nice -n`). A load child run inside the test suite is niced so that test files running in
   * parallel keep their CPU share; its figures then describe a contended machine.
   */
  nice?: number;
}

/** A running child process that answers {@link ChildRpc.call} requests. */
export interface ChildRpc {
  readonly process: ChildProcess;
  /** Everything the child wrote to stderr (warnings, crashes). */
  readonly stderr: () => string;
  /** Sends a request and resolves with the child's answer (rejects with the child's error message). */
  call<T = unknown>(method: string, params?: unknown, timeout?: number): Promise<T>;
  /** Resolves with the next unsolicited message of this `kind` from the child. */
  next<T = unknown>(kind: string, timeout?: number): Promise<T>;
  /** Exit code once exited, else `undefined`. */
  exitCode(): number | null | undefined;
  /** Asks the child to exit and waits; kills it after 5 s. */
  stop(): Promise<void>;
}

interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

interface Notice {
  type: 'notice';
  kind: string;
  value: unknown;
}

/**
 * Starts `script` (a TypeScript file, run through tsx, which maps `@ssekit/*` to src by tsconfig.base.json's paths)
 * as a child process with IPC, and waits for it to say it is ready.
 */
export async function startChild(script: string | URL, options: ChildOptions = {}): Promise<ChildRpc> {
  const path = script instanceof URL ? fileURLToPath(script) : script;
  const nodeArgs = ['--import', 'tsx'];
  if (options.exposeGc) nodeArgs.push('--expose-gc');
  const limit = options.fileLimit;
  // `exec` keeps the IPC descriptor the parent opened (NODE_CHANNEL_FD) and makes node the process we signal.
  const run = options.nice === undefined ? 'exec "$@"' : `exec nice -n ${options.nice} "$@"`;
  const command = limit === undefined ? run : `ulimit -n ${limit} && ${run}`;
  const child = spawn('bash', ['-c', command, 'bash', process.execPath, ...nodeArgs, path], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const notices: Notice[] = [];
  const noticeWaiters: { kind: string; resolve(value: unknown): void }[] = [];
  let exited: number | null | undefined;
  const exitWaiters: (() => void)[] = [];
  child.on('message', (message: Reply | Notice) => {
    if (message.type === 'reply') {
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.ok) pending?.resolve(message.value);
      else pending?.reject(new Error(`child ${path}: ${message.error}`));
      return;
    }
    const waiter = noticeWaiters.findIndex((w) => w.kind === message.kind);
    if (waiter === -1) notices.push(message);
    else noticeWaiters.splice(waiter, 1)[0]?.resolve(message.value);
  });
  child.on('exit', (code, signal) => {
    exited = code ?? (signal ? -1 : null);
    const error = new Error(`child ${path} exited (code ${code}, signal ${signal}). stderr:\n${stderr.slice(-4000)}`);
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
    for (const wake of exitWaiters.splice(0)) wake();
  });

  const rpc: ChildRpc = {
    process: child,
    stderr: () => stderr,
    call<T>(method: string, params?: unknown, timeout = 120_000): Promise<T> {
      if (exited !== undefined) return Promise.reject(new Error(`child ${path} has exited. stderr:\n${stderr}`));
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`child ${path}: ${method} timed out after ${timeout} ms`));
        }, timeout);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ type: 'call', id, method, params });
      });
    },
    next<T>(kind: string, timeout = 60_000): Promise<T> {
      const index = notices.findIndex((n) => n.kind === kind);
      if (index !== -1) return Promise.resolve(notices.splice(index, 1)[0]?.value as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child ${path}: no "${kind}" within ${timeout} ms`)), timeout);
        noticeWaiters.push({
          kind,
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
        });
      });
    },
    exitCode: () => exited,
    async stop() {
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => exitWaiters.push(resolve));
      child.send({ type: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
  await rpc.next('ready', 30_000).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${error.message}. stderr:\n${stderr}`);
  });
  return rpc;
}

/**
 * Child side: records what escapes as an unhandled rejection or an uncaught exception, instead of letting Node print
 * it and exit, so the parent can read the list in a status and require it empty.
 */
export function recordEscapes(): string[] {
  const escaped: string[] = [];
  process.on('unhandledRejection', (reason) => escaped.push(`unhandledRejection: ${String(reason)}`));
  process.on('uncaughtException', (error) => escaped.push(`uncaughtException: ${error.stack ?? error.message}`));
  return escaped;
}

/** The methods a child offers to its parent. */
export type ChildMethods = Record<string, (params: never) => unknown>;

/**
 * Child side: answers the parent's calls with `methods`, and tells it that the child is ready. Calls run one at a
 * time in arrival order unless a method returns a promise, in which case later calls may interleave.
 */
export function serveParent(methods: ChildMethods): { notify(kind: string, value?: unknown): void } {
  if (typeof process.send !== 'function') throw new Error('serveParent() needs an IPC channel to a parent process.');
  const send = (message: unknown) => process.send?.(message);
  process.on('message', async (message: { type: string; id: number; method: string; params: unknown }) => {
    if (message.type === 'exit') {
      process.disconnect?.();
      process.exit(0);
    }
    if (message.type !== 'call') return;
    const method = methods[message.method];
    try {
      if (method === undefined) throw new Error(`unknown method ${message.method}`);
      const value = await (method as (params: unknown) => unknown)(message.params);
      send({ type: 'reply', id: message.id, ok: true, value });
    } catch (error) {
      send({
        type: 'reply',
        id: message.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  });
  // A parent that dies must not leave a load server running.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'notice', kind: 'ready', value: process.pid });
  return { notify: (kind, value) => send({ type: 'notice', kind, value }) };
}

/** Forces full garbage collections (the child must run with `--expose-gc`) and returns the heap figures. */
export async function settledMemory(): Promise<{ heapUsed: number; rss: number; external: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('settledMemory() needs node --expose-gc.');
  // Several rounds with turns in between: weak references and finalizers need a tick to let go.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external };
}

/**
 * Asks `read` (typically a child's status) every 100 ms until `done` holds, then returns the last answer; fails
 * with `what` and that answer after `timeout` ms.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeout = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
