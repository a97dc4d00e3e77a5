import type { IncomingMessage } from 'node:http';
import type { Connection, ConnectionHandler, WebSocketEndpoint } from '../../transport/connection.ts';
import { CloseCode } from '../../transport/websocket-frames.ts';
import type { DialectContext } from '../dialect.ts';
import { MobzSocket, type MobzSocketDeps } from './mobz-socket.ts';

/**
 * `/mobz`: the socket endpoint, with the connection-level rules of specs/mobz.md: frame and
 * message limits (1009, enforced by the transport), KEEPALIVE on idle sockets, and the
 * optional fixed lifetime (`maxConnectionMs`, 1001).
 */
export class MobzEndpoint implements WebSocketEndpoint {
  readonly path: string;
  readonly dialect = 'mobz';
  readonly maxMessageBytes: number;
  readonly maxFrameBytes: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly #keepaliveMs: number;
  readonly #maxConnectionMs: number;
  readonly #sockets = new Set<MobzSocket>();
  readonly #deps: MobzSocketDeps;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(context: DialectContext, deps: Omit<MobzSocketDeps, 'closed'>) {
    const { config } = context;
    this.path = config['mobz.path'];
    this.maxMessageBytes = config['mobz.maxMessageBytes'];
    this.maxFrameBytes = config['mobz.maxFrameBytes'];
    this.pingIntervalMs = config['mobz.pingIntervalMs'];
    this.pongTimeoutMs = config['mobz.pongTimeoutMs'];
    this.#keepaliveMs = config['mobz.keepaliveMs'];
    this.#maxConnectionMs = config['mobz.maxConnectionMs'];
    this.#deps = { ...deps, closed: (socket) => this.#sockets.delete(socket) };
  }

  accept(connection: Connection, _request: IncomingMessage): ConnectionHandler {
    const socket = new MobzSocket(connection, this.#deps);
    this.#sockets.add(socket);
    return socket;
  }

  start(): void {
    const shortest = Math.min(this.#keepaliveMs, this.#maxConnectionMs || Infinity);
    const period = Math.min(5000, Math.max(10, Math.floor(shortest / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), period);
    this.#sweeper.unref();
  }

  stop(): void {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    const now = performance.now();
    for (const socket of this.#sockets) {
      if (this.#maxConnectionMs > 0 && now - socket.openedAt >= this.#maxConnectionMs) {
        socket.close(CloseCode.goingAway, 'maxConnectionMs reached');
      } else if (now - socket.lastActivity >= this.#keepaliveMs) {
        socket.keepalive();
      }
    }
  }
}
