import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { DialectMetrics } from '../ops/metrics.ts';
import type { Connection, ConnectionHandler } from './connection.ts';

let nextConnectionId = 1;

export const SLOW_CONSUMER_CLOSE_CODE = 1008;
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

/**
 * One WebSocket, wrapped. Writes issued while handling one batch of input are corked and
 * flushed together on the next tick: a burst of relays to one socket becomes one syscall.
 */
export class WebSocketConnection implements Connection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  handler: ConnectionHandler | undefined;
  /** performance.now() of the last frame or pong from the peer. */
  lastSeen = performance.now();
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #metrics: DialectMetrics;
  readonly #maxBufferedBytes: number;
  #corked = false;
  #closed = false;

  constructor(ws: WebSocket, socket: Socket, remoteAddress: string, metrics: DialectMetrics, maxBufferedBytes: number) {
    this.#ws = ws;
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.#metrics = metrics;
    this.#maxBufferedBytes = maxBufferedBytes;
  }

  get open(): boolean {
    return !this.#closed && this.#ws.readyState === 1;
  }

  send(text: string): void {
    this.#write(text, false);
  }

  sendBinary(data: Uint8Array): void {
    this.#write(data, true);
  }

  #write(data: string | Uint8Array, binary: boolean): void {
    if (!this.open) return;
    if (this.#ws.bufferedAmount > this.#maxBufferedBytes) {
      // The peer is not reading. Keeping its backlog would let one slow consumer grow the
      // process without bound, so it is cut off.
      this.#metrics.slowConsumerCloses++;
      this.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer: outgoing buffer exceeded maxBufferedBytes');
      this.#ws.terminate();
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(uncork, this);
    }
    this.#metrics.messagesOut++;
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

  terminate(): void {
    this.#closed = true;
    this.#ws.terminate();
  }

  ping(): void {
    if (this.#ws.readyState === 1) this.#ws.ping();
  }
}

function uncork(connection: WebSocketConnection): void {
  connection.uncork();
}
