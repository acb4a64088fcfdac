import type {
  Attributes,
  BatchObservableResult,
  Histogram,
  Meter,
  Observable,
  ObservableCounter,
  ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { Broker, OutgoingEnvelope, Target } from './broker-contract.js';
import { SseError, SseTypeError } from './errors.js';
import type { MeterProviderLike } from './hub-options.js';
import type { HubCounters, ResetReason, ResumeResult } from './hub-stats.js';
import type { Refusal } from './limits.js';
import { otelApi, PACKAGE_VERSION } from './otel-api.js';
import type { Registry } from './registry.js';
import type { CloseReason } from './stream.js';
import { streamRoute } from './stream-route.js';
import { DURATION_BUCKETS, recordTicks, stopTicks } from './tick-metrics.js';

/** The meter's name: the instrumentation scope of every ssekit instrument. */
export const METER_NAME = '@ssekit/core';

const CLOSE_REASONS: readonly CloseReason[] = ['client', 'server', 'timeout', 'slow-consumer', 'error', 'shutdown'];
const REFUSALS: readonly Refusal[] = ['closed', 'max-connections', 'max-connections-per-client'];
const RESUME_RESULTS: readonly ResumeResult[] = ['replayed', 'reset', 'failed'];
const RESET_REASONS: readonly ResetReason[] = ['unknown-id', 'expired', 'invalid-id'];

// Names of open hubs that record metrics: two hubs with one name would add up into, and overwrite, the same series.
const namesInUse = new Set<string>();
let unnamed = 0;

/**
 * A hub's name: the given one, or the next `hub-<n>`. A hub that records metrics reserves it until it closes
 * ({@link HubMetrics.close}): names are unique among those.
 */
export function nameHub(given: string | undefined, reserve: boolean): string {
  if (!reserve) return given ?? `hub-${++unnamed}`;
  if (given !== undefined) {
    if (namesInUse.has(given)) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `Option \`name\`: another open hub is named ${JSON.stringify(given)}; their metrics would mix. Give each hub its own name, or close the other first.`,
      );
    }
    namesInUse.add(given);
    return given;
  }
  let name: string;
  do name = `hub-${++unnamed}`;
  while (namesInUse.has(name));
  namesInUse.add(name);
  return name;
}

interface Instruments {
  meter: Meter;
  publishDuration: Histogram;
  observables: Observable[];
  observe: (result: BatchObservableResult) => void;
}

/**
 * A hub's metrics. What the hub counts anyway (hub-stats.ts) is read by observable instruments when the app's
 * metric reader collects, so delivering an event costs nothing more; only a publish's duration and the clock's tick
 * duration are measured as they happen. With no meter provider given, the hub binds to the global one as soon as an
 * SDK registered it (checked at creation, and on each connection and publish until then).
 */
export class HubMetrics {
  private instruments: Instruments | undefined;
  private closed = false;
  private readonly base: Attributes;
  private readonly targets: Record<Target['type'], Attributes>;
  // Routes seen, reported with 0 once their last connection ended rather than dropped: an up-down counter that
  // stops reporting a series would leave its last value standing. `undefined`: connections no adapter named a route
  // for (`hub.attach()` by hand), always reported, so that a hub without connections reports 0.
  private readonly routes = new Set<string | undefined>([undefined]);

  constructor(
    /** The hub's name: attribute `ssekit.hub`. */
    readonly name: string,
    private readonly provider: MeterProviderLike | undefined,
    private readonly counters: HubCounters,
    private readonly registry: Registry,
  ) {
    this.base = { 'ssekit.hub': name };
    const target = (type: Target['type']): Attributes => ({ 'ssekit.hub': name, 'ssekit.target.type': type });
    this.targets = { client: target('client'), topic: target('topic'), all: target('all'), any: target('any') };
    try {
      this.bind();
    } catch (error) {
      namesInUse.delete(name);
      throw error;
    }
  }

  /** Binds to the meter provider, if there is one with an SDK behind it; returns the publish histogram. */
  bind(): Histogram | undefined {
    if (this.instruments !== undefined) return this.instruments.publishDuration;
    if (this.closed) return undefined;
    let meter: Meter;
    if (this.provider !== undefined) {
      meter = checkMeter(this.provider.getMeter(METER_NAME, PACKAGE_VERSION));
    } else {
      const api = otelApi();
      if (api === undefined) return undefined;
      meter = api.metrics.getMeter(METER_NAME, PACKAGE_VERSION);
      // The global provider before an SDK registered one: try again later rather than bind to a no-op for good.
      if (meter === api.createNoopMeter()) return undefined;
    }
    this.instruments = createInstruments(meter, this);
    meter.addBatchObservableCallback(this.instruments.observe, this.instruments.observables);
    recordTicks(meter);
    return this.instruments.publishDuration;
  }

  /**
   * `broker.publish(envelope)`, timed when the broker answers asynchronously (Redis): `ssekit.publish.duration`, with
   * `error.type` when it refused. A broker that answers within the call (the in-memory one, which delivers then and
   * there) is not timed: its duration is the hub's own delivery work, and a histogram record (about 2 µs in the
   * SDK) would double the cost of such a publish.
   */
  publish(broker: Broker, envelope: OutgoingEnvelope): string | Promise<string> {
    const histogram = this.bind();
    if (histogram === undefined) return broker.publish(envelope);
    const attributes = this.targets[envelope.target.type];
    const started = performance.now();
    let result: string | Promise<string>;
    try {
      result = broker.publish(envelope);
    } catch (error) {
      histogram.record(elapsed(started), failed(attributes, error));
      throw error;
    }
    if (typeof result === 'string') return result;
    // A branch of its own: the caller's promise, and its handling of a rejection, stay as they were.
    Promise.resolve(result).then(
      () => histogram.record(elapsed(started), attributes),
      (error: unknown) => histogram.record(elapsed(started), failed(attributes, error)),
    );
    return result;
  }

  /** Stops reporting: the observable callbacks are removed, so a closed hub is let go and no longer collected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    namesInUse.delete(this.name);
    const instruments = this.instruments;
    if (instruments === undefined) return;
    this.instruments = undefined;
    instruments.meter.removeBatchObservableCallback(instruments.observe, instruments.observables);
    stopTicks(instruments.meter);
  }

  /** What the observable instruments report at a collection, from the hub's counters and registry. */
  report(result: BatchObservableResult, instruments: ObservableSet): void {
    const { counters, base } = this;
    const detail = counters.detail;
    const byRoute = new Map<string | undefined, number>();
    for (const route of this.routes) byRoute.set(route, 0);
    for (const streams of [this.registry.all, this.registry.readers]) {
      for (const stream of streams) {
        const route = streamRoute(stream);
        byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
      }
    }
    for (const [route, count] of byRoute) {
      this.routes.add(route);
      result.observe(instruments.connections, count, route === undefined ? base : { ...base, 'http.route': route });
    }
    result.observe(instruments.clients, this.registry.clientCount, base);
    result.observe(instruments.published, counters.published, base);
    result.observe(instruments.delivered, counters.delivered, base);
    result.observe(instruments.dropped, counters.dropped, base);
    result.observe(instruments.replayed, counters.replayed, base);
    result.observe(instruments.bytes, counters.bytesSent, base);
    result.observe(instruments.failures, counters.failed, base);
    result.observe(instruments.heartbeats, detail.heartbeats, base);
    for (const reason of CLOSE_REASONS) {
      result.observe(instruments.closed, counters.closed[reason], { ...base, 'ssekit.close.reason': reason });
    }
    for (const refusal of REFUSALS) {
      result.observe(instruments.refused, detail.refusals[refusal], { ...base, 'ssekit.refusal': refusal });
    }
    for (const outcome of RESUME_RESULTS) {
      result.observe(instruments.replays, detail.resumes[outcome], { ...base, 'ssekit.replay.result': outcome });
    }
    for (const reason of RESET_REASONS) {
      result.observe(instruments.resets, detail.resets[reason], { ...base, 'ssekit.reset.reason': reason });
    }
  }
}

type ObservableSet = ReturnType<typeof createObservables>;

function createObservables(meter: Meter) {
  const gauge = (name: string, unit: string, description: string): ObservableUpDownCounter =>
    meter.createObservableUpDownCounter(name, { unit, description });
  const total = (name: string, unit: string, description: string): ObservableCounter =>
    meter.createObservableCounter(name, { unit, description });
  return {
    connections: gauge('ssekit.connections', '{connection}', 'Open SSE connections, by route.'),
    clients: gauge('ssekit.clients', '{client}', 'Distinct client ids with at least one open connection.'),
    published: total('ssekit.events.published', '{event}', 'Events the broker accepted from send/publish/broadcast.'),
    delivered: total(
      'ssekit.events.delivered',
      '{event}',
      'Events delivered to local connections (one per connection).',
    ),
    dropped: total(
      'ssekit.events.dropped',
      '{event}',
      'Events queued for a connection when it ended, not written (replayable from history).',
    ),
    replayed: total('ssekit.events.replayed', '{event}', 'Events replayed to resuming connections.'),
    bytes: total('ssekit.bytes.sent', 'By', 'Bytes handed to sockets, heartbeats and replays included.'),
    failures: total('ssekit.publish.failures', '{event}', 'Events the broker refused (e.g. Redis unreachable).'),
    heartbeats: total('ssekit.heartbeats', '{heartbeat}', 'Heartbeat comments written to idle connections.'),
    closed: total('ssekit.connections.closed', '{connection}', 'Connections ended, by reason.'),
    refused: total(
      'ssekit.connections.refused',
      '{connection}',
      'Connections refused, by the limit that refused them.',
    ),
    replays: total('ssekit.replays', '{replay}', 'Last-Event-ID resumes, by result.'),
    resets: total('ssekit.resets', '{reset}', 'Resumes answered with the reset event, by reason.'),
  };
}

function createInstruments(meter: Meter, metrics: HubMetrics): Instruments {
  const observables = createObservables(meter);
  const publishDuration = meter.createHistogram('ssekit.publish.duration', {
    description: 'Time the broker took to accept an event from send/publish/broadcast, by target type.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  return {
    meter,
    publishDuration,
    observables: Object.values(observables),
    observe: (result) => metrics.report(result, observables),
  };
}

const METER_METHODS = [
  'createHistogram',
  'createObservableCounter',
  'createObservableUpDownCounter',
  'addBatchObservableCallback',
  'removeBatchObservableCallback',
] as const;

/** The meter a `meterProvider` option gave, checked: a hub must fail at creation, not at its first collection. */
function checkMeter(meter: unknown): Meter {
  const missing = METER_METHODS.find(
    (method) => typeof (meter as Record<string, unknown> | null)?.[method] !== 'function',
  );
  if (missing !== undefined) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`meterProvider\`: getMeter() must return an OpenTelemetry Meter (API 1.3 or later); it has no ${missing}().`,
    );
  }
  return meter as Meter;
}

function elapsed(started: number): number {
  return (performance.now() - started) / 1000;
}

/** `error.type`, as OpenTelemetry's conventions name it: ssekit's error code, else the error's class name. */
function failed(attributes: Attributes, error: unknown): Attributes {
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  const type =
    typeof code === 'string' && code.startsWith('SSE_') ? code : typeof name === 'string' && name ? name : '_OTHER';
  return { ...attributes, 'error.type': type };
}
