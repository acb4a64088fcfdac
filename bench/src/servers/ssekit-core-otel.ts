/**
 * ssekit-core.ts with OpenTelemetry metrics recorded: the hub reports to an SDK `MeterProvider` whose reader collects
 * every second (a far shorter interval than any scrape). Beside ssekit-core in the same run, the ratio between the two
 * is the cost of the metrics; ssekit-core itself records through `@opentelemetry/api` with no SDK installed (no-op).
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createHub } from '@ssekit/core';
import { heartbeatFromEnv } from './contract.js';
import { serveHub } from './ssekit-hub.js';

/** A reader the server collects from itself, as an exporter's periodic reader would. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const reader = new CollectingReader();
const hub = createHub({ meterProvider: new MeterProvider({ readers: [reader] }) });
setInterval(() => void reader.collect(), 1000).unref();
const heartbeat = heartbeatFromEnv();
const streamOptions = heartbeat === undefined ? {} : { heartbeat };

serveHub(hub, streamOptions);
