import type { Bus } from './bus.ts';

/** `${nodeId}/${local}`: where a connection (or any mailbox) can be reached cluster-wide. */
export type Address = string;

/**
 * Whatever receives messages at an address. An object with a method rather than a closure:
 * every registered device and client holds one, and idle memory per socket counts.
 * `originAt` is the wallClockMs() at which the message that caused this one entered the cluster.
 */
export interface Mailbox {
  deliver(message: string, originAt: number): void;
}

/**
 * Point-to-point delivery to mailboxes anywhere in the cluster. Like livekit's router, the
 * local router is inside the clustered one: a message for a mailbox on this node is
 * delivered synchronously without touching the Bus; anything else rides the Bus on the
 * target node's topic, which keeps per-sender order (see Bus).
 */
export class MessageRouter {
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #mailboxes = new Map<string, Mailbox>();
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(nodeId: string, bus: Bus) {
    if (nodeId.includes('/') || nodeId.includes('\n')) throw new Error(`node id may not contain "/" or newlines: ${nodeId}`);
    this.nodeId = nodeId;
    this.#bus = bus;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#bus.subscribe(nodeTopic(this.nodeId), (envelope) => this.#receive(envelope));
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** Registers a mailbox under a node-unique local name and returns its cluster address. */
  register(local: string, mailbox: Mailbox): Address {
    if (this.#mailboxes.has(local)) throw new Error(`mailbox ${local} already registered`);
    this.#mailboxes.set(local, mailbox);
    return `${this.nodeId}/${local}`;
  }

  unregister(local: string): void {
    this.#mailboxes.delete(local);
  }

  /** Fire and forget; a message for a mailbox that no longer exists is dropped. */
  send(to: Address, message: string, originAt: number): void {
    const slash = to.indexOf('/');
    const node = to.slice(0, slash);
    if (node === this.nodeId) {
      this.#mailboxes.get(to.slice(slash + 1))?.deliver(message, originAt);
    } else {
      this.#bus.publish(nodeTopic(node), `${to.slice(slash + 1)}\n${originAt}\n${message}`);
    }
  }

  /** The mailbox at `address` if it is registered on this node: for a caller with a faster local path. */
  local(address: Address): Mailbox | undefined {
    return this.isLocal(address) ? this.#mailboxes.get(address.slice(this.nodeId.length + 1)) : undefined;
  }

  isLocal(address: Address): boolean {
    return address.startsWith(this.nodeId) && address.charCodeAt(this.nodeId.length) === 47; // '/'
  }

  #receive(envelope: string): void {
    const first = envelope.indexOf('\n');
    const second = envelope.indexOf('\n', first + 1);
    if (first < 0 || second < 0) return;
    this.#mailboxes.get(envelope.slice(0, first))?.deliver(envelope.slice(second + 1), Number(envelope.slice(first + 1, second)));
  }
}

export function nodeOf(address: Address): string {
  return address.slice(0, address.indexOf('/'));
}

function nodeTopic(nodeId: string): string {
  return `node:${nodeId}`;
}
