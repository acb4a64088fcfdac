import os from 'node:os';
import type { Hub } from '@ssekit/core';

/** The topic the performance feed publishes to. */
export const PERF_TOPIC = 'perf';

/** What each `perf` event carries: one instance's process, machine and hub figures over the last interval. */
export interface PerfSample {
  /** The instance that measured (several share one Redis hub). */
  readonly instance: string;
  readonly framework: string;
  /** Counts this instance's samples without holes. */
  readonly seq: number;
  readonly t: number;
  /** CPU time of this process over the interval, in percent of one core. */
  readonly cpu: number;
  readonly load: number;
  readonly cores: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly systemMemoryUsed: number;
  readonly systemMemoryTotal: number;
  /** Open SSE connections on this instance, and distinct client ids among them. */
  readonly connections: number;
  readonly clients: number;
  /** Events the hub handed to local connections per second, one per connection. */
  readonly eventsPerSecond: number;
  /** Events this instance published per second. */
  readonly publishedPerSecond: number;
  readonly bytesPerSecond: number;
  /** Totals since start. */
  readonly replayed: number;
  readonly resets: number;
  /** Client ids connected to this instance (the first 50), so the page can offer them as targets. */
  readonly clientIds: readonly string[];
}

const MAX_LISTED_CLIENTS = 50;

/**
 * The server-performance feed: an endless `perf` event per interval with CPU, memory and the hub's own
 * traffic from `hub.stats()`.
 */
export class PerformanceFeed {
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  private lastCpu = process.cpuUsage();
  private lastDelivered = 0;
  private lastPublished = 0;
  private lastBytes = 0;

  constructor(
    private readonly hub: Hub,
    private readonly interval: number,
    private readonly identity: { readonly instance: string; readonly framework: string },
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.reset();
    this.timer = setInterval(() => this.publish(), this.interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Measures since the previous sample. */
  sample(): PerfSample {
    const now = performance.now();
    const seconds = Math.max((now - this.lastAt) / 1000, 0.001);
    const cpu = process.cpuUsage(this.lastCpu);
    const stats = this.hub.stats();
    const memory = process.memoryUsage();
    const sample: PerfSample = {
      instance: this.identity.instance,
      framework: this.identity.framework,
      seq: ++this.seq,
      t: Date.now(),
      cpu: round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
      load: round(os.loadavg()[0] ?? 0),
      cores: os.availableParallelism(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      systemMemoryUsed: os.totalmem() - os.freemem(),
      systemMemoryTotal: os.totalmem(),
      connections: stats.connections,
      clients: stats.clients,
      eventsPerSecond: round((stats.delivered - this.lastDelivered) / seconds),
      publishedPerSecond: round((stats.published - this.lastPublished) / seconds),
      bytesPerSecond: Math.round((stats.bytesSent - this.lastBytes) / seconds),
      replayed: stats.replayed,
      resets: stats.resets,
      clientIds: this.hub.clientIds().slice(0, MAX_LISTED_CLIENTS),
    };
    this.lastAt = now;
    this.lastCpu = process.cpuUsage();
    this.lastDelivered = stats.delivered;
    this.lastPublished = stats.published;
    this.lastBytes = stats.bytesSent;
    return sample;
  }

  private reset(): void {
    const stats = this.hub.stats();
    this.lastAt = performance.now();
    this.lastCpu = process.cpuUsage();
    this.lastDelivered = stats.delivered;
    this.lastPublished = stats.published;
    this.lastBytes = stats.bytesSent;
  }

  private publish(): void {
    if (this.hub.closed) return;
    this.hub.publish(PERF_TOPIC, this.sample(), { event: 'perf' }).catch(this.onError);
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
