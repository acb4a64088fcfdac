/**
 * Something the process-wide clock calls on every tick: a stream, for its heartbeat and lifetime. One unref'd
 * interval serves every stream; its period is a quarter of the shortest heartbeat registered (10 ms to 1 s), so a
 * heartbeat goes out at most 25% late and a lifetime ends at most one period late.
 */
export interface Ticking {
  /** Called on every tick with the coarse current time. */
  tick(now: number): void;
}

const MIN_PERIOD = 10;
const MAX_PERIOD = 1000;

class Clock {
  private readonly members = new Set<Ticking>();
  private timer: NodeJS.Timeout | undefined;
  private period = MAX_PERIOD;
  /** Coarse time, refreshed each tick and on demand; cheaper than `Date.now()` on every write. */
  now = Date.now();
  /** Told how long each tick took (in seconds), while hubs record metrics (tick-metrics.ts). */
  observer: ((seconds: number) => void) | undefined;

  /** Registers a member; `interval` is the shortest period it needs (its heartbeat), in ms. */
  add(member: Ticking, interval: number): void {
    this.members.add(member);
    const wanted = Math.min(MAX_PERIOD, Math.max(MIN_PERIOD, Math.floor(interval / 4)));
    if (this.timer === undefined || wanted < this.period) this.start(wanted);
  }

  delete(member: Ticking): void {
    if (!this.members.delete(member)) return;
    if (this.members.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.period = MAX_PERIOD;
    }
  }

  /** Refreshes and returns the coarse time. */
  refresh(): number {
    this.now = Date.now();
    return this.now;
  }

  private start(period: number): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.period = period;
    this.timer = setInterval(() => this.run(), period);
    this.timer.unref();
  }

  private run(): void {
    const observer = this.observer;
    const started = observer === undefined ? 0 : performance.now();
    const now = this.refresh();
    for (const member of this.members) member.tick(now);
    if (observer !== undefined) observer((performance.now() - started) / 1000);
  }
}

/** The process-wide clock shared by every stream. */
export const clock = new Clock();
