/**
 * Child processes of the benchmark: servers and load clients, each a fresh Node process (same loader flags as the
 * runner, so TypeScript sources run as they are), talking to the runner over IPC. Every wait is bounded.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientCommand, ClientMessage } from '../client/load-client.js';

const CLIENT_FILE = fileURLToPath(new URL('../client/load-client.ts', import.meta.url));
/** Distinct lines of a child's stdout/stderr echoed before the rest is dropped (a peer may warn per connection). */
const ECHO_LINES = 10;

export class ChildFailure extends Error {}

/** A child process with a message queue: `next()` waits for the next message of a kind, with a time limit. */
export class Child<Out extends { op?: string; type?: string }, In = unknown> {
  private readonly queue: Out[] = [];
  private waiters: { accept: (m: Out) => boolean; resolve: (m: Out) => void; reject: (e: Error) => void }[] = [];
  /** Set once the child reported an error or exited on its own; every later wait rejects with it. */
  failure: Error | undefined;
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    this.exit = new Promise((resolve) => {
      process.once('exit', (code, signal) => {
        this.exited = true;
        if (!this.stopping) this.fail(new ChildFailure(`${name} exited unexpectedly (code ${code}, signal ${signal})`));
        resolve();
      });
    });
    process.on('message', (message: Out) => {
      if ((message as { op?: string }).op === 'error') {
        this.fail(new ChildFailure(`${name}: ${(message as unknown as { message: string }).message}`));
        return;
      }
      const waiter = this.waiters.find((w) => w.accept(message));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(message);
      } else {
        this.queue.push(message);
      }
    });
    echo(name, process);
  }

  private stopping = false;

  private fail(error: Error): void {
    this.failure ??= error;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(this.failure);
  }

  send(message: In): void {
    if (!this.exited && this.process.connected) this.process.send(message as object);
  }

  /** The next message matching `accept`, within `timeoutMs`. */
  next<M extends Out>(accept: (m: Out) => m is M, timeoutMs: number, what: string): Promise<M> {
    if (this.failure) return Promise.reject(this.failure);
    const queued = this.queue.findIndex(accept);
    if (queued !== -1) return Promise.resolve(this.queue.splice(queued, 1)[0] as M);
    return new Promise<M>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new ChildFailure(`${this.name}: no ${what} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const done = (m: Out): void => {
        clearTimeout(timer);
        resolve(m as M);
      };
      this.waiters.push({
        accept,
        resolve: done,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Ends the process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

function echo(name: string, child: ChildProcess): void {
  const seen = new Set<string>();
  const follow = (stream: NodeJS.ReadableStream | null): void => {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        // Warnings repeat with only the pid changing: show each kind once.
        const kind = line.replace(/\(node:\d+\) /, '').trim();
        if (kind === '' || seen.has(kind) || seen.size > ECHO_LINES) continue;
        seen.add(kind);
        process.stderr.write(`  [${name}] ${seen.size > ECHO_LINES ? '(further output dropped)' : line}\n`);
      }
    });
  };
  follow(child.stdout);
  follow(child.stderr);
}

export type ServerMessage = { type: 'ready'; port: number };

let serverExecArgv: readonly string[] = process.execArgv;

/** The Node flags of every server process from now on (the runner's by default). */
export function setServerExecArgv(execArgv: readonly string[]): void {
  serverExecArgv = execArgv;
}

export interface StartedServer {
  child: Child<ServerMessage>;
  port: number;
}

/** Starts a server file in a fresh process and waits for its port. */
export async function startServer(
  name: string,
  file: string,
  options: { env?: Record<string, string>; nodeFlags?: string[] } = {},
): Promise<StartedServer> {
  const proc = fork(file, [], {
    execArgv: [...serverExecArgv, '--expose-gc', ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const child = new Child<ServerMessage>(name, proc);
  try {
    const ready = await child.next((m): m is ServerMessage => m.type === 'ready', 30_000, 'ready message');
    return { child, port: ready.port };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export type LoadClient = Child<ClientMessage, ClientCommand>;

let clientFlags: readonly string[] = [];

/** Extra Node flags of every load client from now on (`--cpu-prof=client`). */
export function setClientFlags(flags: readonly string[]): void {
  clientFlags = flags;
}

/** Starts a load client process. */
export function startClient(name: string): LoadClient {
  const proc = fork(CLIENT_FILE, [], {
    execArgv: [...process.execArgv, ...clientFlags],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return new Child<ClientMessage, ClientCommand>(name, proc);
}

/** Narrowing helper for client messages. */
export function isOp<K extends ClientMessage['op']>(op: K) {
  return (m: ClientMessage): m is Extract<ClientMessage, { op: K }> => m.op === op;
}
