import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DialectLatencyHistogram, type LatencyCounts } from './latency-histogram.ts';

/**
 * Per-dialect figures on the hot path are plain numbers; prom-client reads them at scrape
 * time. A labelled prom-client `inc()` per relayed message would cost more than the relay.
 */
export class DialectMetrics {
  messagesIn = 0;
  messagesOut = 0;
  connections = 0;
  slowConsumerCloses = 0;
  readonly errors = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  readonly dialect: string;
  readonly #latency: LatencyCounts;

  constructor(dialect: string, latency: DialectLatencyHistogram) {
    this.dialect = dialect;
    this.#latency = latency.dialect(dialect);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  /** Time from a message's arrival at the server to its hand-off to the recipient's socket. */
  relayLatency(seconds: number): void {
    this.#latency.observe(seconds);
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly #dialects = new Map<string, DialectMetrics>();
  readonly #latency: DialectLatencyHistogram;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const dialects = () => this.#dialects.values();
    const fromNumbers = (name: string, help: string, read: (d: DialectMetrics) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['dialect'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const d of dialects()) this.inc({ dialect: d.dialect }, read(d));
        },
      });
    fromNumbers('switchboard_messages_in_total', 'Messages received from clients, by dialect.', (d) => d.messagesIn);
    fromNumbers('switchboard_messages_out_total', 'Messages sent to clients, by dialect.', (d) => d.messagesOut);
    fromNumbers('switchboard_slow_consumer_closes_total', 'Sockets closed because their outgoing buffer exceeded maxBufferedBytes.', (d) => d.slowConsumerCloses);
    new Gauge({
      name: 'switchboard_connections',
      help: 'Open connections (WebSocket and polling), by dialect.',
      labelNames: ['dialect'],
      registers: [this.registry],
      collect() {
        for (const d of dialects()) this.set({ dialect: d.dialect }, d.connections);
      },
    });
    const byCode = (name: string, help: string, label: 'code' | 'reason', read: (d: DialectMetrics) => Map<string, number>) =>
      new Counter({
        name,
        help,
        labelNames: ['dialect', label],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const d of dialects()) for (const [value, n] of read(d)) this.inc({ dialect: d.dialect, [label]: value }, n);
        },
      });
    byCode('switchboard_errors_total', 'Protocol errors sent, by dialect and error code.', 'code', (d) => d.errors);
    byCode('switchboard_rejected_connections_total', 'Connections refused before the dialect saw them (limits, origin, draining), by reason.', 'reason', (d) => d.rejected);
    this.#latency = new DialectLatencyHistogram(
      'switchboard_relay_latency_seconds',
      'Time from a message arriving to its relay being written to the recipient socket (includes the Bus hop in a cluster).',
      [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    );
    this.registry.registerMetric(this.#latency.asMetric());
  }

  dialect(name: string): DialectMetrics {
    let metrics = this.#dialects.get(name);
    if (!metrics) this.#dialects.set(name, (metrics = new DialectMetrics(name, this.#latency)));
    return metrics;
  }
}
