import type { Histogram, Meter } from '@opentelemetry/api';
import { clock } from './clock.js';

/** Histogram buckets for short durations, in seconds: 50 µs to 5 s. */
export const DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

// The clock is one per process, so its ticks are recorded once per meter, however many hubs share that meter; the
// clock measures its ticks only while at least one hub records metrics.
const histograms = new Map<Meter, { histogram: Histogram; users: number }>();

function observe(seconds: number): void {
  for (const { histogram } of histograms.values()) histogram.record(seconds);
}

/** Starts recording the clock's tick duration to `meter`, for one more hub. */
export function recordTicks(meter: Meter): void {
  const entry = histograms.get(meter);
  if (entry !== undefined) {
    entry.users++;
    return;
  }
  const histogram = meter.createHistogram('ssekit.clock.tick.duration', {
    description: 'Time one tick of the process-wide clock took: heartbeats and lifetimes of every stream.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  histograms.set(meter, { histogram, users: 1 });
  clock.observer = observe;
}

/** Stops recording to `meter` for one hub; the clock stops measuring when no hub records. */
export function stopTicks(meter: Meter): void {
  const entry = histograms.get(meter);
  if (entry === undefined) return;
  if (--entry.users > 0) return;
  histograms.delete(meter);
  if (histograms.size === 0) clock.observer = undefined;
}
