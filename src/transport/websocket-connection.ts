import type { Socket } from 'node:net';
import type { Logger } from '../ops/logger.ts';
import type { DialectMetrics } from '../ops/metrics.ts';
import type { Connection, ConnectionHandler } from './connection.ts';
import { WebSocketFrameReader, type FrameLimits, type FrameSink } from './websocket-frame-reader.ts';
import { CloseCode, closePayload, encodeFrame, encodeSplicedFrame, Opcode, TransportViolation } from './websocket-frames.ts';

/** What the connections of one endpoint share (one object per endpoint, not per socket). */
export interface ConnectionGroup extends FrameLimits {
  readonly metrics: DialectMetrics;
  readonly log: Logger;
  readonly maxBufferedBytes: number;
  /** Bookkeeping once a socket has closed, before its handler hears of it. */
  released(connection: WebSocketConnection): void;
}

const CONNECTION = Symbol('switchboard.connection');
type TrackedSocket = Socket & { [CONNECTION]: WebSocketConnection };
const of = (socket: Socket) => (socket as TrackedSocket)[CONNECTION];

// Module-level listeners (`this` is the socket): per-socket closures would each cost memory
// on every idle connection, and could keep the upgrade request alive through their scope.
function onData(this: Socket, chunk: Buffer): void {
  of(this).reader.feed(chunk);
}
function onEnd(this: Socket): void {
  // The peer half-closed without a close frame; the HTTP server allows half-open sockets,
  // so our side has to end too for 'close' to come.
  this.end();
}
function onError(this: Socket, error: Error): void {
  const connection = of(this);
  connection.group.log.debug({ err: error, dialect: connection.group.dialect }, 'websocket socket error');
}
function onClose(this: Socket): void {
  of(this).closed();
}

const PING_FRAME = Buffer.from([0x80 | Opcode.ping, 0]);

let nextConnectionId = 1;

export const SLOW_CONSUMER_CLOSE_CODE = CloseCode.policyViolation;
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2000;

/**
 * One WebSocket (RFC 6455) on a socket whose upgrade has been answered. Frames are read by a
 * WebSocketFrameReader straight from the socket's reads, and written as whole frames.
 *
 * Writes are corked and flushed once the event loop has handled this turn's input
 * (setImmediate): a burst of relays to one socket becomes one syscall, and a turn costs one
 * callback for all sockets rather than one tick per message.
 */
export class WebSocketConnection implements Connection, FrameSink {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  handler: ConnectionHandler | undefined;
  /** performance.now() of the last frame or pong from the peer. */
  lastSeen = performance.now();
  readonly group: ConnectionGroup;
  readonly reader: WebSocketFrameReader;
  readonly #socket: Socket;
  #corked = false;
  /** A close frame was sent, or the socket is being torn down: nothing more goes out. */
  #closing = false;
  /** The socket has closed (its 'close' event). */
  #gone = false;
  /** After a violation: frames still parsed from the same read never reach the handler. */
  #deaf = false;
  /** The code of the peer's close frame; 0 until one arrives. */
  #peerCloseCode = 0;
  #closeTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, remoteAddress: string, group: ConnectionGroup) {
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.group = group;
    this.reader = new WebSocketFrameReader(group, this);
    (socket as TrackedSocket)[CONNECTION] = this;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  onMessage(data: Buffer, binary: boolean): void {
    // After an orderly close (1001: shutdown, a lifetime limit) frames the peer sent before
    // it saw our close still count: dropping them would lose signals. After a violation
    // nothing more may reach the handler, or the offending frame would be acted on anyway.
    if (this.#deaf) return;
    const receivedAt = performance.now();
    this.lastSeen = receivedAt;
    this.group.metrics.messagesIn++;
    try {
      if (binary) this.handler?.onBinary(data);
      else this.handler?.onText(data, receivedAt);
    } catch (error) {
      // A handler bug must cost one socket, never the process or other sessions.
      this.group.log.error({ err: error, dialect: this.group.dialect }, 'message handler failed');
      this.group.metrics.error('internal');
      this.close(CloseCode.internalError, 'internal error');
    }
  }

  onPing(payload: Buffer): void {
    this.lastSeen = performance.now();
    if (!this.#closing) this.#writeFrame(Opcode.pong, payload);
  }

  onPong(): void {
    this.lastSeen = performance.now();
  }

  onCloseFrame(code: number): void {
    this.#peerCloseCode = code;
    if (!this.#closing) {
      // Echo the peer's code (RFC 6455 §5.5.1); a close frame without one is echoed empty.
      this.#closing = true;
      this.#writeFrame(Opcode.close, code === CloseCode.noStatus ? Buffer.alloc(0) : closePayload(code, ''));
    }
    // Both close frames are out: the server closes the TCP connection first (§7.1.1).
    this.#socket.end();
    this.#armCloseTimer();
  }

  onViolation(violation: TransportViolation, reason: string): void {
    this.group.metrics.error(violation);
    this.closeForViolation(TransportViolation[violation].close, reason);
  }

  closed(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#closing = true;
    this.reader.stop();
    clearTimeout(this.#closeTimer);
    this.group.released(this);
    try {
      this.handler?.onClose(this.#peerCloseCode || CloseCode.abnormal);
    } catch (error) {
      this.group.log.error({ err: error, dialect: this.group.dialect }, 'close handler failed');
    }
  }

  get open(): boolean {
    return !this.#closing;
  }

  send(text: string | Uint8Array): void {
    this.#send(text, Opcode.text);
  }

  sendBinary(data: Uint8Array): void {
    this.#send(data, Opcode.binary);
  }

  sendSpliced(head: Uint8Array, body: Uint8Array, tail: Uint8Array): void {
    if (this.#readyToSend()) this.#socket.write(encodeSplicedFrame(head, body, tail));
  }

  #send(data: string | Uint8Array, opcode: Opcode): void {
    if (this.#readyToSend()) this.#writeFrame(opcode, data);
  }

  /** Whether a message may go out now; a slow consumer is cut off instead. */
  #readyToSend(): boolean {
    if (this.#closing) return false;
    if (this.#socket.writableLength > this.group.maxBufferedBytes) {
      // The peer is not reading. Keeping its backlog would let one slow consumer grow the
      // process without bound, so it is cut off.
      this.group.metrics.slowConsumerCloses++;
      this.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer: outgoing buffer exceeded maxBufferedBytes');
      this.terminate();
      return false;
    }
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      if (corkedConnections.push(this) === 1) setImmediate(uncorkAll);
    }
    this.group.metrics.messagesOut++;
    return true;
  }

  #writeFrame(opcode: Opcode, payload: string | Uint8Array): void {
    const chunks = encodeFrame(opcode, payload);
    this.#socket.write(chunks[0]);
    if (chunks.length === 2) this.#socket.write(chunks[1]);
  }

  uncork(): void {
    this.#corked = false;
    this.#socket.uncork();
  }

  close(code: number, reason = ''): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#gone) return;
    this.#writeFrame(Opcode.close, closePayload(code, reason));
    // Normally the peer's close frame is awaited (frames it sent before seeing ours still
    // count); after a violation nothing more is read, so there is nothing to wait for.
    if (this.#deaf || this.#peerCloseCode !== 0) this.#socket.end();
    this.#armCloseTimer();
  }

  /** Closes for something the peer sent: input still in flight is discarded. */
  closeForViolation(code: number, reason: string): void {
    this.#deaf = true;
    this.reader.stop();
    this.close(code, reason);
  }

  terminate(): void {
    this.#closing = true;
    this.#socket.destroy();
  }

  ping(): void {
    if (!this.#closing) this.#socket.write(PING_FRAME);
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined || this.#gone) return;
    // A peer that never answers our close, or never closes its side, is cut off.
    this.#closeTimer = setTimeout(destroySocket, CLOSE_HANDSHAKE_TIMEOUT_MS, this.#socket);
    this.#closeTimer.unref();
  }
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

// Sockets written to during this event-loop turn, uncorked together once the turn's input
// has been handled: one timer callback per turn rather than one tick per message.
const corkedConnections: WebSocketConnection[] = [];

function uncorkAll(): void {
  for (const connection of corkedConnections) connection.uncork();
  corkedConnections.length = 0;
}
