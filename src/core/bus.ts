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
  /** Delivers `message` to the current subscribers of `topic` (none is not an error). */
  publish(topic: string, message: string): void;
  /** Resolves once the subscription is active cluster-wide; returns the unsubscribe call. */
  subscribe(topic: string, handler: BusHandler): Promise<() => Promise<void>>;
  /** True while the bus can deliver (a Redis bus is false while its connection is down). */
  readonly healthy: boolean;
  close(): Promise<void>;
}
