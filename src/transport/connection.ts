import type { IncomingMessage } from 'node:http';

/** What a dialect sees of a socket: send, close, and who is on the other end. */
export interface Connection {
  /** Unique within this process; never reused. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly open: boolean;
  /** A text frame: a string, or bytes that are already valid UTF-8 (sent as they are). */
  send(text: string | Uint8Array): void;
  /**
   * The text frame `head` + `body` + `tail` (valid UTF-8 together), written straight into
   * the outgoing frame: a relay splices a payload into its envelope without first joining
   * them into a message.
   */
  sendSpliced(head: Uint8Array, body: Uint8Array, tail: Uint8Array): void;
  sendBinary(data: Uint8Array): void;
  /** Sends a close frame; the socket is destroyed if the peer does not answer in time. */
  close(code: number, reason?: string): void;
}

export interface ConnectionHandler {
  /**
   * A text frame, as the bytes received (ws has checked they are valid UTF-8): a relay can
   * forward them without decoding. `receivedAt` is performance.now() when it was read.
   */
  onText(data: Buffer, receivedAt: number): void;
  onBinary(data: Buffer): void;
  /** Called once, whatever closed the socket (either side, liveness, slow consumer). */
  onClose(code: number): void;
}

export interface WebSocketEndpoint {
  readonly path: string;
  readonly dialect: string;
  /** Largest message, all its frames together; a larger one closes the socket with 1009. */
  readonly maxMessageBytes: number;
  /** Largest single frame payload; a larger one closes the socket with 1009. Unset: no frame limit. */
  readonly maxFrameBytes?: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  accept(connection: Connection, request: IncomingMessage): ConnectionHandler;
}
