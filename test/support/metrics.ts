import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

/** An OpenTelemetry SDK meter provider whose metrics a test reads through the SDK's in-memory exporter. */
export interface MetricsRecorder {
  provider: MeterProvider;
  /** Collects now (the reader's own period is an hour) and returns what ssekit's meter exported. */
  collect(): Promise<CollectedMetrics>;
  close(): Promise<void>;
}

/** One collection of the `@ssekit/core` meter. */
export interface CollectedMetrics {
  /** The meter's version, as ssekit named it. */
  version: string | undefined;
  metrics: MetricData[];
  /** The value of a counter's data point whose attributes include `attributes`; `undefined` when none matches. */
  sum(name: string, attributes: Attributes): number | undefined;
  /** The histogram data point whose attributes include `attributes`; `undefined` when none matches. */
  histogram(name: string, attributes: Attributes): Histogram | undefined;
  /** Every data point of every instrument whose attributes include `attributes`. */
  pointsWith(attributes: Attributes): DataPoint<unknown>[];
}

/**
 * A fresh meter provider with an in-memory exporter: cumulative, as Prometheus reads them, or delta (where a series
 * nobody observed is absent from a collection; the JS SDK's cumulative storage repeats its last value instead).
 */
export function recordMetrics(temporality: 'cumulative' | 'delta' = 'cumulative'): MetricsRecorder {
  const exporter = new InMemoryMetricExporter(
    temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
  );
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      const scopes = exporter
        .getMetrics()
        .flatMap((resource) => resource.scopeMetrics)
        .filter((scope) => scope.scope.name === '@ssekit/core');
      return collected(
        scopes[0]?.scope.version,
        scopes.flatMap((scope) => scope.metrics),
      );
    },
    close: () => provider.shutdown(),
  };
}

function collected(version: string | undefined, metrics: MetricData[]): CollectedMetrics {
  const point = (name: string, attributes: Attributes): DataPoint<unknown> | undefined => {
    const metric = metrics.find((candidate) => candidate.descriptor.name === name);
    return (metric?.dataPoints as DataPoint<unknown>[] | undefined)?.find((candidate) =>
      includes(candidate.attributes, attributes),
    );
  };
  return {
    version,
    metrics,
    sum: (name, attributes) => point(name, attributes)?.value as number | undefined,
    histogram: (name, attributes) => point(name, attributes)?.value as Histogram | undefined,
    pointsWith: (attributes) =>
      metrics.flatMap((metric) =>
        (metric.dataPoints as DataPoint<unknown>[]).filter((candidate) => includes(candidate.attributes, attributes)),
      ),
  };
}

function includes(actual: Attributes, expected: Attributes): boolean {
  return Object.entries(expected).every(([key, value]) => actual[key] === value);
}
