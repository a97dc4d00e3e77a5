import type { Bus } from '../core/bus.ts';
import type { MessageRouter } from '../core/message-router.ts';
import type { NodeLiveness } from '../core/node-liveness.ts';
import type { State } from '../core/state.ts';
import type { Config } from '../ops/config.ts';
import type { Logger } from '../ops/logger.ts';
import type { DialectMetrics } from '../ops/metrics.ts';
import type { IceConfigProvider } from '../services/turn-credentials.ts';
import type { WebSocketEndpoint } from '../transport/connection.ts';
import type { HttpRouter } from '../transport/http-router.ts';

/** What the server hands a dialect when mounting it. */
export interface DialectContext {
  readonly config: Config;
  readonly nodeId: string;
  readonly bus: Bus;
  readonly state: State;
  readonly router: MessageRouter;
  readonly liveness: NodeLiveness;
  readonly ice: IceConfigProvider;
  readonly metrics: DialectMetrics;
  readonly log: Logger;
  readonly http: HttpRouter;
  addWebSocketEndpoint(endpoint: WebSocketEndpoint): void;
}

export interface Dialect {
  readonly name: string;
  mount(context: DialectContext): Promise<MountedDialect>;
}

export interface MountedDialect {
  /** Stops timers and subscriptions; sockets are closed by the transport. */
  stop(): Promise<void>;
}
