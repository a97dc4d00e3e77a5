import type { IncomingMessage } from 'node:http';
import type { Connection, ConnectionHandler, WebSocketEndpoint } from '../../transport/connection.ts';
import type { DialectContext } from '../dialect.ts';

/**
 * What the two cuttlefish WebSocket endpoints share: the dialect's socket limits, and an
 * upkeep that runs three times per device lease (renewing leases on one side, noticing
 * lapsed ones on the other).
 */
export abstract class CuttlefishSocketEndpoint implements WebSocketEndpoint {
  abstract readonly path: string;
  readonly dialect = 'cuttlefish';
  readonly maxMessageBytes: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  protected readonly context: DialectContext;
  #upkeepTimer: NodeJS.Timeout | undefined;

  constructor(context: DialectContext) {
    this.context = context;
    this.maxMessageBytes = context.config['cuttlefish.maxMessageBytes'];
    this.pingIntervalMs = context.config['cuttlefish.pingIntervalMs'];
    this.pongTimeoutMs = context.config['cuttlefish.pongTimeoutMs'];
  }

  abstract accept(connection: Connection, request: IncomingMessage): ConnectionHandler;

  protected abstract upkeep(): Promise<void>;

  start(): void {
    const period = Math.max(10, Math.floor(this.context.config['cuttlefish.deviceLeaseMs'] / 3));
    this.#upkeepTimer = setInterval(() => void this.upkeep(), period);
    this.#upkeepTimer.unref();
  }

  stop(): void {
    clearInterval(this.#upkeepTimer);
  }
}
