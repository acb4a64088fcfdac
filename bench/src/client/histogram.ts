/**
 * Latency histogram with 1% wide logarithmic buckets from 1 µs to about 20 minutes: constant memory per client
 * whatever the number of events, mergeable across client processes, and percentiles within 1%.
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

export function createHistogram(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

export function merge(into: Uint32Array, from: ArrayLike<number>): void {
  for (let i = 0; i < BUCKETS; i++) into[i] = (into[i] as number) + (from[i] as number);
}

/** The `q` quantile (0..1) in ms, or NaN for an empty histogram. */
export function quantileMs(histogram: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) total += histogram[i] as number;
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += histogram[i] as number;
    if (seen >= rank) return bucketValue(i) / 1000;
  }
  return bucketValue(BUCKETS - 1) / 1000;
}
