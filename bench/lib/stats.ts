// Small measurement helpers shared by the orchestrator and the load generator.

import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 0;
/** Kernel clock ticks per second (USER_HZ) used by /proc/<pid>/stat. */
export function clockTicks(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * CPU time (user + system, all threads) consumed so far by a process, in µs, from
 * /proc/<pid>/stat. Resolution is one clock tick (10 ms at USER_HZ=100). The same
 * method is used for every target, so the figures are comparable.
 */
export function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the "(comm)" field; comm may contain spaces or parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1e6) / clockTicks();
}

/** Number of open file descriptors of a process (Linux). */
export function procFdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

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
