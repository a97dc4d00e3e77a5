import type { Bus, BusHandler } from '../../core/bus.ts';

/**
 * Topic table shared by the MemoryBus instances of one process. Several instances on one
 * hub behave like several nodes on one Redis, which lets the conformance suite check
 * cross-node rules without a server.
 */
export class MemoryBusHub {
  readonly topics = new Map<string, Set<BusHandler>>();
}

/** The single-node default Bus. Delivery is asynchronous (a microtask), like a real broker. */
export class MemoryBus implements Bus {
  readonly healthy = true;
  #hub: MemoryBusHub;
  #queue: Array<{ topic: string; message: string }> = [];
  #draining = false;
  #closed = false;

  constructor(hub: MemoryBusHub = new MemoryBusHub()) {
    this.#hub = hub;
  }

  publish(topic: string, message: string): void {
    if (this.#closed) return;
    this.#queue.push({ topic, message });
    if (!this.#draining) {
      this.#draining = true;
      queueMicrotask(() => this.#drain());
    }
  }

  #drain(): void {
    // Handlers may publish again; those messages join the end of this same queue, so
    // publish order is kept.
    for (let i = 0; i < this.#queue.length; i++) {
      const { topic, message } = this.#queue[i]!;
      const handlers = this.#hub.topics.get(topic);
      if (!handlers) continue;
      for (const handler of [...handlers]) handler(message);
    }
    this.#queue = [];
    this.#draining = false;
  }

  async subscribe(topic: string, handler: BusHandler): Promise<() => Promise<void>> {
    let handlers = this.#hub.topics.get(topic);
    if (!handlers) this.#hub.topics.set(topic, (handlers = new Set()));
    // Wrap so the same function subscribed twice counts as two subscriptions.
    const entry: BusHandler = (message) => handler(message);
    handlers.add(entry);
    return async () => {
      handlers.delete(entry);
      if (handlers.size === 0 && this.#hub.topics.get(topic) === handlers) this.#hub.topics.delete(topic);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
