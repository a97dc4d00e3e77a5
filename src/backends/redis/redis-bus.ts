import { Redis } from 'ioredis';
import type { Bus, BusHandler } from '../../core/bus.ts';
import { CONNECTION_OPTIONS, closeConnection, whenReady } from './redis-connection.ts';

export interface RedisBusOptions {
  /** redis:// or rediss:// URL of a standalone (non-cluster) Redis. */
  url: string;
  /** Prepended to every topic to form the Redis channel name. Default `sb:`. */
  keyPrefix?: string;
  /**
   * Receives connection errors, failed publishes/unsubscribes and exceptions thrown by
   * handlers. Without it connection and publish errors are dropped (`healthy` reports the
   * outage) and a handler's exception is rethrown asynchronously, as MemoryBus does.
   */
  onError?: (error: unknown) => void;
  /** How long `RedisBus.connect` waits for both connections. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

interface Topic {
  handlers: Set<BusHandler>;
  /** Settles when Redis acknowledged the SUBSCRIBE for this channel. */
  ready: Promise<void>;
}

/**
 * Bus over Redis pub/sub, with two connections per instance: one publishes, one subscribes.
 *
 * Ordering: Redis executes one connection's commands in order and writes the resulting
 * messages to each subscriber connection in that same order, so every PUBLISH from this
 * instance's single publisher connection reaches every subscriber connection in publish
 * order, across channels too. Sharded pub/sub (SPUBLISH/SSUBSCRIBE) is deliberately not
 * used: on a cluster, channels of different slots live on different shards, reached over
 * different connections, and that cross-topic ordering would be lost. On a non-cluster
 * Redis plain PUBLISH/SUBSCRIBE gives the same reach with the ordering intact.
 *
 * One Redis SUBSCRIBE per channel, whatever the number of local handlers; messages fan out
 * locally, and the channel is unsubscribed when its last local handler leaves. ioredis
 * reconnects on its own and resubscribes the channels after a reconnect; publishes made
 * while disconnected wait in ioredis's offline queue.
 */
export class RedisBus implements Bus {
  #pub: Redis;
  #sub: Redis;
  #prefix: string;
  #onError: ((error: unknown) => void) | undefined;
  #connectTimeoutMs: number;
  #topics = new Map<string, Topic>();
  #closed = false;

  /** Starts connecting at once; use `RedisBus.connect` to wait until both connections are ready. */
  constructor(options: RedisBusOptions) {
    this.#prefix = options.keyPrefix ?? 'sb:';
    this.#onError = options.onError;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    // Auto-pipelining writes every PUBLISH issued in one tick as one batch: a burst of relays
    // costs one syscall, and order on the one connection is unchanged.
    this.#pub = new Redis(options.url, { ...CONNECTION_OPTIONS, connectionName: 'switchboard-bus-pub', enableAutoPipelining: true });
    this.#sub = new Redis(options.url, { ...CONNECTION_OPTIONS, connectionName: 'switchboard-bus-sub' });
    for (const connection of [this.#pub, this.#sub]) {
      connection.on('error', (error: Error) => this.#onError?.(error));
    }
    this.#sub.on('message', (channel: string, message: string) => this.#deliver(channel, message));
  }

  /** Creates a bus and resolves once both connections are ready (rejects, closed, on timeout). */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    try {
      await bus.ready();
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  /** Resolves once both connections are ready; rejects after the connect timeout. */
  async ready(): Promise<void> {
    await Promise.all([this.#pub, this.#sub].map((c) => whenReady(c, this.#connectTimeoutMs)));
  }

  get healthy(): boolean {
    return !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
  }

  publish(topic: string, message: string): void {
    if (this.#closed) return;
    this.#pub.publish(this.#prefix + topic, message).catch((error: unknown) => this.#onError?.(error));
  }

  async subscribe(topic: string, handler: BusHandler): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('RedisBus is closed');
    const channel = this.#prefix + topic;
    let entry = this.#topics.get(channel);
    if (!entry) {
      const created: Topic = {
        handlers: new Set(),
        ready: this.#sub.subscribe(channel).then(
          () => undefined,
          (error: unknown) => {
            // Let the next subscriber try a fresh SUBSCRIBE instead of this failed one.
            if (this.#topics.get(channel) === created) this.#topics.delete(channel);
            throw error;
          },
        ),
      };
      this.#topics.set(channel, (entry = created));
    }
    const topicEntry = entry;
    // Wrap so the same function subscribed twice counts as two subscriptions.
    const subscription: BusHandler = (message) => handler(message);
    topicEntry.handlers.add(subscription);
    try {
      await topicEntry.ready;
    } catch (error) {
      topicEntry.handlers.delete(subscription);
      throw error;
    }

    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      topicEntry.handlers.delete(subscription);
      if (topicEntry.handlers.size > 0 || this.#topics.get(channel) !== topicEntry) return;
      this.#topics.delete(channel);
      if (this.#closed) return;
      // A later subscribe issues its SUBSCRIBE after this UNSUBSCRIBE on the same
      // connection, so Redis ends up subscribed exactly when local handlers exist.
      try {
        await this.#sub.unsubscribe(channel);
      } catch (error) {
        this.#onError?.(error);
      }
    };
  }

  #deliver(channel: string, message: string): void {
    const entry = this.#topics.get(channel);
    if (!entry) return;
    for (const handler of [...entry.handlers]) {
      try {
        handler(message);
      } catch (error) {
        // Never let a handler's exception unwind into ioredis's reply parser.
        if (this.#onError) this.#onError(error);
        else queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Waits for queued publishes to be acknowledged, then closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#topics.clear();
    await Promise.all([closeConnection(this.#pub), closeConnection(this.#sub)]);
  }
}
