import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { DialectLatencyHistogram } from '../../src/ops/latency-histogram.ts';

const BOUNDS = [0.001, 0.01, 0.1];

describe('DialectLatencyHistogram', () => {
  it("prints exactly what prom-client's own Histogram prints for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new DialectLatencyHistogram('latency_seconds', 'Latency.', BOUNDS);
    ours.registerMetric(histogram.asMetric());
    const reference = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['dialect'], buckets: BOUNDS, registers: [theirs] });
    // On a bound (le is inclusive), between bounds, above all of them, and zero.
    const observations: Array<[string, number]> = [
      ['cuttlefish', 0],
      ['cuttlefish', 0.001],
      ['cuttlefish', 0.0011],
      ['cuttlefish', 0.5],
      ['mobz', 0.01],
      ['mobz', 0.05],
    ];
    for (const [dialect, seconds] of observations) {
      histogram.dialect(dialect).observe(seconds);
      reference.labels(dialect).observe(seconds);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
  });

  it('counts nothing after reset, and keeps counting afterwards', async () => {
    const registry = new Registry();
    const histogram = new DialectLatencyHistogram('latency_seconds', 'Latency.', BOUNDS);
    registry.registerMetric(histogram.asMetric());
    histogram.dialect('mobz').observe(0.002);
    registry.resetMetrics();
    histogram.dialect('mobz').observe(0.2);
    const text = await registry.metrics();
    assert.match(text, /latency_seconds_bucket\{le="0.01",dialect="mobz"\} 0\n/);
    assert.match(text, /latency_seconds_bucket\{le="\+Inf",dialect="mobz"\} 1\n/);
    assert.match(text, /latency_seconds_count\{dialect="mobz"\} 1/);
  });
});
