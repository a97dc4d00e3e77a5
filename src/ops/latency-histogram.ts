import type { Metric } from 'prom-client';

/**
 * One dialect's latency observations, counted per bucket. Feeding it is a few comparisons
 * and three additions: it runs once per relayed message, where prom-client's `observe`
 * (label hashing, an object per call) cost about 1 % of the relay's CPU.
 */
export class LatencyCounts {
  readonly bounds: readonly number[];
  /** Observations per bucket, not cumulative; the last is above every bound. */
  readonly perBucket: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.perBucket = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.perBucket[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram, labelled by dialect, read from LatencyCounts at scrape time. It
 * answers the registry the way prom-client's own Histogram does (`get()`, `reset()`), so
 * /metrics prints it as one.
 */
export class DialectLatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly bounds: readonly number[];
  readonly #byDialect = new Map<string, LatencyCounts>();

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.bounds = bounds;
  }

  /** The counts to feed for `dialect`. */
  dialect(dialect: string): LatencyCounts {
    let counts = this.#byDialect.get(dialect);
    if (!counts) this.#byDialect.set(dialect, (counts = new LatencyCounts(this.bounds)));
    return counts;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    const values: Sample[] = [];
    for (const [dialect, counts] of this.#byDialect) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += counts.perBucket[i]!;
        values.push({ labels: { le, dialect }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', dialect }, value: counts.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { dialect }, value: counts.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { dialect }, value: counts.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const counts of this.#byDialect.values()) {
      counts.perBucket.fill(0);
      counts.sum = 0;
      counts.count = 0;
    }
  }

  /** As the registry's parameter type: it names prom-client's classes, not their shape. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
