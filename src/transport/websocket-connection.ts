import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from '../ops/logger.ts';
import type { DialectMetrics } from '../ops/metrics.ts';
import type { Connection, ConnectionHandler } from './connection.ts';

/** What the connections of one endpoint share (one object per endpoint, not per socket). */
export interface ConnectionGroup {
  readonly dialect: string;
  readonly metrics: DialectMetrics;
  readonly log: Logger;
  readonly maxBufferedBytes: number;
  /** Bookkeeping once a socket has closed, before its handler hears of it. */
  released(connection: WebSocketConnection): void;
}

const CONNECTION = Symbol('switchboard.connection');
type TrackedWebSocket = WebSocket & { [CONNECTION]: WebSocketConnection };
const of = (ws: WebSocket) => (ws as TrackedWebSocket)[CONNECTION];

// Module-level listeners (`this` is the ws): per-socket closures would each cost memory on
// every idle connection, and could keep the upgrade request alive through their scope.
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  of(this).receive(data, isBinary);
}
function onPong(this: WebSocket): void {
  of(this).lastSeen = performance.now();
}
function onError(this: WebSocket, error: Error): void {
  // ws reports protocol violations (bad UTF-8 → 1007, oversize → 1009) here and closes the
  // socket itself; onClose does the bookkeeping.
  const connection = of(this);
  connection.group.log.debug({ err: error, dialect: connection.group.dialect }, 'websocket error');
}
function onClose(this: WebSocket, code: number): void {
  of(this).closed(code);
}

let nextConnectionId = 1;

export const SLOW_CONSUMER_CLOSE_CODE = 1008;
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

/**
 * One WebSocket, wrapped. Writes are corked and flushed once the event loop has handled
 * this turn's input (setImmediate): a burst of relays to one socket becomes one syscall, and
 * a turn costs one callback for all sockets rather than one tick per message.
 */
export class WebSocketConnection implements Connection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  handler: ConnectionHandler | undefined;
  /** performance.now() of the last frame or pong from the peer. */
  lastSeen = performance.now();
  readonly group: ConnectionGroup;
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  #corked = false;
  #closed = false;
  #deaf = false;

  constructor(ws: WebSocket, socket: Socket, remoteAddress: string, group: ConnectionGroup) {
    this.#ws = ws;
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.group = group;
    (ws as TrackedWebSocket)[CONNECTION] = this;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
  }

  receive(data: Buffer, isBinary: boolean): void {
    // After an orderly close (1001: shutdown, a lifetime limit) frames the peer sent before
    // it saw our close still count: dropping them would lose signals. After a violation
    // nothing more may reach the handler, or the offending frame would be acted on anyway.
    if (this.#deaf) return;
    const receivedAt = performance.now();
    this.lastSeen = receivedAt;
    this.group.metrics.messagesIn++;
    try {
      if (isBinary) this.handler?.onBinary(data);
      else this.handler?.onText(data, receivedAt);
    } catch (error) {
      // A handler bug must cost one socket, never the process or other sessions.
      this.group.log.error({ err: error, dialect: this.group.dialect }, 'message handler failed');
      this.group.metrics.error('internal');
      this.close(1011, 'internal error');
    }
  }

  closed(code: number): void {
    this.#closed = true;
    this.group.released(this);
    try {
      this.handler?.onClose(code);
    } catch (error) {
      this.group.log.error({ err: error, dialect: this.group.dialect }, 'close handler failed');
    }
  }

  get open(): boolean {
    return !this.#closed && this.#ws.readyState === 1;
  }

  send(text: string | Uint8Array): void {
    this.#write(text, false);
  }

  sendBinary(data: Uint8Array): void {
    this.#write(data, true);
  }

  #write(data: string | Uint8Array, binary: boolean): void {
    if (!this.open) return;
    if (this.#ws.bufferedAmount > this.group.maxBufferedBytes) {
      // The peer is not reading. Keeping its backlog would let one slow consumer grow the
      // process without bound, so it is cut off.
      this.group.metrics.slowConsumerCloses++;
      this.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer: outgoing buffer exceeded maxBufferedBytes');
      this.#ws.terminate();
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      if (corkedConnections.push(this) === 1) setImmediate(uncorkAll);
    }
    this.group.metrics.messagesOut++;
    this.#ws.send(data, { binary, compress: false });
  }

  uncork(): void {
    this.#corked = false;
    this.#socket.uncork();
  }

  close(code: number, reason = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ws.readyState === 1) {
      // A close reason may hold at most 123 bytes.
      this.#ws.close(code, Buffer.byteLength(reason) > 123 ? '' : reason);
      const timer = setTimeout(() => this.#ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS);
      timer.unref();
      this.#ws.once('close', () => clearTimeout(timer));
    } else {
      this.#ws.terminate();
    }
  }

  /** Closes for something the peer sent: input still in flight is discarded. */
  closeForViolation(code: number, reason: string): void {
    this.#deaf = true;
    this.close(code, reason);
  }

  terminate(): void {
    this.#closed = true;
    this.#ws.terminate();
  }

  ping(): void {
    if (this.#ws.readyState === 1) this.#ws.ping();
  }
}

// Sockets written to during this event-loop turn, uncorked together once the turn's input
// has been handled: one timer callback per turn rather than one tick per message.
const corkedConnections: WebSocketConnection[] = [];

function uncorkAll(): void {
  for (const connection of corkedConnections) connection.uncork();
  corkedConnections.length = 0;
}
