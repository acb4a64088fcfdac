/**
 * Latency histogram with 1% wide logarithmic buckets from 1 µs to about 20 minutes: constant memory whatever the
 * number of events, mergeable across client processes, and percentiles within 1%. The bench merges the raw buckets
 * across its client processes; the reliability tests use {@link LatencyHistogram}, which adds count, mean and max.
 */
const GROWTH = Math.log(1.01);
/** Buckets: 1.01^2100 µs is about 1,200 s. */
export const BUCKETS = 2100;

export function bucketOf(us: number): number {
  if (!(us > 1)) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(us) / GROWTH));
}

/** The value a bucket stands for (its geometric middle), in µs. */
export function bucketValue(bucket: number): number {
  return Math.exp((bucket + 0.5) * GROWTH);
}

/** The upper edge of a bucket, in µs. */
function bucketTop(bucket: number): number {
  return Math.exp((bucket + 1) * GROWTH);
}

export function createHistogram(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

export function merge(into: Uint32Array, from: ArrayLike<number>): void {
  for (let i = 0; i < BUCKETS; i++) into[i] = (into[i] as number) + (from[i] as number);
}

/** The `q` quantile (0..1) in ms, or NaN for an empty histogram. */
export function quantileMs(histogram: ArrayLike<number>, q: number): number {
  const bucket = quantileBucket(histogram, q);
  return bucket === -1 ? Number.NaN : bucketValue(bucket) / 1000;
}

/** The bucket holding the `q` quantile (0..1), or -1 for an empty histogram. */
function quantileBucket(histogram: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) total += histogram[i] as number;
  if (total === 0) return -1;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += histogram[i] as number;
    if (seen >= rank) return i;
  }
  return BUCKETS - 1;
}

/** Latency figures in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Latency samples in milliseconds, in the buckets above, with the exact count, sum and maximum beside them. */
export class LatencyHistogram {
  readonly buckets = createHistogram();
  count = 0;
  sum = 0;
  max = 0;

  record(ms: number): void {
    const value = Math.max(ms, 0);
    const index = bucketOf(value * 1000);
    this.buckets[index] = (this.buckets[index] as number) + 1;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  /** The smallest latency that `p` percent of the samples do not exceed (upper edge of its bucket), in ms. */
  percentile(p: number): number {
    const bucket = quantileBucket(this.buckets, p / 100);
    return bucket === -1 ? 0 : Math.min(bucketTop(bucket) / 1000, this.max);
  }

  /** A summary for reports: count, mean, p50, p90, p99, p99.9 and max, in ms rounded to 0.01. */
  summary(): LatencySummary {
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      count: this.count,
      mean: round(this.count === 0 ? 0 : this.sum / this.count),
      p50: round(this.percentile(50)),
      p90: round(this.percentile(90)),
      p99: round(this.percentile(99)),
      p999: round(this.percentile(99.9)),
      max: round(this.max),
    };
  }
}
