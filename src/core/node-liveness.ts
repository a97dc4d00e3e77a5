import type { State } from './state.ts';

/**
 * Each node keeps a lease in State while it runs; a node whose lease ran out is dead, and
 * whatever it owned (devices, room members) may be released by the survivors.
 */
export class NodeLiveness {
  readonly #state: State;
  readonly #nodeId: string;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(state: State, nodeId: string, leaseMs: number) {
    this.#state = state;
    this.#nodeId = nodeId;
    this.#leaseMs = leaseMs;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat().catch(() => {}), Math.max(10, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  #beat(): Promise<void> {
    return this.#state.set(key(this.#nodeId), String(Date.now()), this.#leaseMs);
  }

  async isAlive(nodeId: string): Promise<boolean> {
    if (nodeId === this.#nodeId) return true;
    return (await this.#state.get(key(nodeId))) !== null;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#state.delete(key(this.#nodeId)).catch(() => {});
  }
}

function key(nodeId: string): string {
  return `node:${nodeId}`;
}
