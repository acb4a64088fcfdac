/** The part of a node-redis v5 client a {@link Connection} uses. */
export interface RawClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'connect', listener: () => void): unknown;
}

/** What a connection reports to its owner, for logging. */
export interface ConnectionHooks {
  /** The connection became usable; `downFor` is how long it was not (undefined the first time). */
  up(downFor: number | undefined): void;
  /** The connection was lost, or an attempt to open it failed (reported once per outage). */
  down(error: unknown): void;
}

/** Delay before reconnect attempt `n` (0-based): exponential from 50 ms, capped at 2 s, plus up to 200 ms of jitter. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2000) + Math.floor(Math.random() * 200);
}

/**
 * The error a pending command fails with when its connection was dropped because Redis did not answer in time
 * (rather than node-redis' generic "Disconnects client"): the command was sent, so its effect is unknown.
 */
export class CommandTimeoutError extends Error {
  constructor(
    readonly role: string,
    /** How long the oldest pending command had waited, at most, before the connection was dropped. */
    readonly ms: number,
  ) {
    super(`Redis did not answer the ${role} connection within ${ms} ms; reconnecting.`);
    this.name = 'CommandTimeoutError';
  }
}

/**
 * One Redis connection that keeps itself open. node-redis's own reconnection is turned off (`reconnectStrategy:
 * false`): this class replaces a lost client by a fresh one, with backoff. docs/scaling.md ("Why @ssekit/redis
 * manages its own connection") says which parts node-redis cannot give and why.
 *
 * Commands are refused at once while the connection is down (no offline queue). Its own watchdog treats a
 * connection whose oldest pending command has waited longer than `timeout + allowance` ms as dead (a half-open TCP
 * connection never errors by itself) and replaces it; the pending commands fail with {@link CommandTimeoutError}.
 */
export class Connection {
  /** Increases each time a new client becomes ready. */
  generation = 0;
  private client: RawClient | undefined;
  private ready = false;
  private closed = false;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private breakClient: ((cause: unknown) => void) | undefined;
  private lastError: unknown;
  private downSince: number | undefined;
  private reportedDown = false;
  // Pending commands of the current client; `epoch` changes whenever the client does, so late answers of a dropped
  // client do not count against its successor.
  private inFlight = 0;
  private since = 0;
  private epoch = 0;
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private idleWaiters: (() => void)[] = [];
  private firstAttempt: Promise<void>;
  private settleFirst: ((error?: unknown) => void) | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  // Why the client of `epoch` was dropped by the watchdog: its pending commands fail with this instead.
  private timedOut: { epoch: number; error: CommandTimeoutError } | undefined;

  constructor(
    private readonly create: () => RawClient,
    readonly role: string,
    private readonly timeout: number,
    private readonly allowance: number,
    private readonly hooks: ConnectionHooks,
  ) {
    this.firstAttempt = new Promise<void>((resolve, reject) => {
      this.settleFirst = (error) => {
        this.settleFirst = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    // Nobody may be waiting for it; its failure is reported through hooks.down.
    this.firstAttempt.catch(noop);
  }

  /** True while commands can be sent. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Starts connecting (idempotent). Resolves or rejects with the outcome of the first attempt; retries go on. */
  start(): Promise<void> {
    if (this.running === undefined && !this.closed) {
      this.running = this.maintain();
      // Half the deadline, within 50 ms to 1 s: an overdue command is noticed at most that much late.
      const every = Math.max(50, Math.min(1000, Math.floor(this.timeout / 2)));
      this.watchdog = setInterval(() => this.check(Date.now()), every);
      this.watchdog.unref();
    }
    return this.firstAttempt;
  }

  /** Resolves once the connection is ready; rejects when it is closed first. */
  untilReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('The connection is closed.'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Sends one command. Rejects at once when the connection is down. */
  command(args: readonly string[]): Promise<unknown> {
    const client = this.client;
    if (client === undefined || !this.ready) return Promise.reject(this.offlineError());
    const epoch = this.epoch;
    if (this.inFlight === 0) this.since = Date.now();
    this.inFlight++;
    const settle = (): void => {
      if (epoch !== this.epoch) return;
      this.inFlight--;
      this.since = Date.now();
      if (this.inFlight === 0 && this.idleWaiters.length > 0) this.wakeIdle();
    };
    const reply = client.sendCommand(args);
    reply.then(settle, settle);
    return reply.catch((error: unknown) => {
      const timedOut = this.timedOut;
      throw timedOut !== undefined && timedOut.epoch === epoch ? timedOut.error : error;
    });
  }

  /** Replaces the client when its oldest pending command is overdue. */
  private check(now: number): void {
    if (!this.ready || this.inFlight === 0) return;
    const limit = this.timeout + this.allowance;
    if (now - this.since > limit) {
      const error = new CommandTimeoutError(this.role, limit);
      this.timedOut = { epoch: this.epoch, error };
      this.breakClient?.(error);
    }
  }

  /**
   * Closes for good. With `grace` > 0, waits up to that many ms for pending commands to be answered first.
   * Never rejects.
   */
  async close(grace = 0): Promise<void> {
    if (this.closed) return this.running;
    this.closed = true;
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    const closedError = new Error('The connection is closed.');
    for (const waiter of this.waiters.splice(0)) waiter.reject(closedError);
    if (grace > 0 && this.ready && this.inFlight > 0) await this.idle(grace);
    this.abort.abort();
    this.breakClient?.(closedError);
    this.settleFirst?.(closedError);
    await this.running;
  }

  private async maintain(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const client = this.create();
      const broken = new Promise<unknown>((resolve) => {
        this.breakClient = resolve;
      });
      client.on('error', (error) => {
        this.lastError = error;
        // With reconnection off, a client that lost its socket ends up closed: replace it.
        if (!client.isOpen) this.breakClient?.(error);
      });
      // node-redis bounds the TCP connect (connectTimeout), not the handshake after it (HELLO/AUTH, CLIENT SETNAME):
      // a server, proxy or link that accepts and then goes silent would hold this attempt forever.
      let handshake: NodeJS.Timeout | undefined;
      client.on('connect', () => {
        handshake = setTimeout(() => {
          this.breakClient?.(
            new Error(`Redis did not complete the ${this.role} connection's handshake within ${this.timeout} ms.`),
          );
        }, this.timeout);
        handshake.unref();
      });
      this.client = client;
      try {
        const connecting = client.connect();
        connecting.catch(noop);
        const outcome = await Promise.race([connecting.then(() => undefined), broken]).finally(() =>
          clearTimeout(handshake),
        );
        if (outcome !== undefined) throw outcome;
        if (!client.isReady) throw this.lastError ?? new Error('The Redis client did not become ready.');
        this.becomeReady();
        attempt = 0;
        this.lastError = await broken;
      } catch (error) {
        this.lastError = error;
      }
      this.becomeUnready(client);
      if (this.closed) break;
      await pause(reconnectDelay(attempt++), this.abort.signal);
    }
    this.client = undefined;
    this.breakClient = undefined;
  }

  private becomeReady(): void {
    this.ready = true;
    this.generation++;
    this.epoch++;
    this.inFlight = 0;
    const downFor = this.downSince === undefined ? undefined : Date.now() - this.downSince;
    this.downSince = undefined;
    this.reportedDown = false;
    this.settleFirst?.();
    this.hooks.up(downFor);
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private becomeUnready(client: RawClient): void {
    this.ready = false;
    this.epoch++;
    // Pending commands of this client must fail now, not when the kernel gives up on the socket.
    try {
      if (client.isOpen) client.destroy();
    } catch {
      // Already torn down by node-redis.
    }
    this.inFlight = 0;
    if (this.idleWaiters.length > 0) this.wakeIdle();
    if (this.closed) return;
    this.downSince ??= Date.now();
    this.settleFirst?.(this.lastError ?? new Error('Redis is not reachable.'));
    if (!this.reportedDown) {
      this.reportedDown = true;
      this.hooks.down(this.lastError);
    }
  }

  private idle(grace: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, grace);
      timer.unref();
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private offlineError(): Error {
    const why = this.lastError instanceof Error ? `: ${this.lastError.message}` : '';
    return new Error(
      this.closed ? 'The connection is closed.' : `Redis is not reachable (${this.role} connection is down${why}).`,
    );
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. The timer never keeps the process alive. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

function noop(): void {}
