/**
 * The Bus contract: fire-and-forget delivery of text messages to every subscriber of a
 * topic, on any node. Modelled on socket.io's cluster adapter, which needs nothing more
 * than "publish" and "on message" from its backend.
 *
 * Ordering guarantee every implementation must keep: messages published by one Bus
 * instance are delivered to each subscriber in publish order, across topics too. Signaling
 * depends on it (an SDP offer must not be overtaken by its ICE candidates).
 */
export type BusHandler = (message: string) => void;

export interface Bus {
  /** Delivers `message` to the current subscribers of `topic` (none is not an error). A no-op after `close`. */
  publish(topic: string, message: string): void;
  /**
   * Resolves once the subscription is active cluster-wide; returns the unsubscribe call.
   * Every call is its own subscription: the same handler subscribed twice receives each
   * message twice, and each unsubscribe removes only its own subscription (calling it again
   * does nothing).
   */
  subscribe(topic: string, handler: BusHandler): Promise<() => Promise<void>>;
  /** True while the bus can deliver (a Redis bus is false while its connection is down). */
  readonly healthy: boolean;
  close(): Promise<void>;
}
