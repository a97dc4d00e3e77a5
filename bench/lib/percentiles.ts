// Latency percentiles of the load generators.

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of the first n values of arr (arr is sorted in place). */
export function percentiles(arr: Float64Array, n: number): Percentiles {
  if (n === 0) return { count: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  const a = arr.subarray(0, n);
  a.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i]!;
  const q = (p: number): number => a[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  return { count: n, mean: sum / n, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: a[n - 1]! };
}
