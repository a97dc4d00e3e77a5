import { sendMessage, type FrameLimits } from './frames.ts';
import { abandonSocket, CONNECTING, OPEN, type MobzWebSocket, type MobzWebSocketConstructor } from './socket.ts';

export interface ConnectionHandlers {
  onOpen(): void;
  onFrame(data: unknown): void;
  /** The current socket closed (or never opened) without us ending it. */
  onClose(code: number): void;
}

/**
 * One socket at a time to the endpoint. Replacing or ending the socket detaches it
 * first, so a late event of an old socket (a close that arrives seconds after a network
 * cut was noticed) never reaches the handlers.
 */
export class Connection {
  readonly #url: string;
  readonly #Impl: MobzWebSocketConstructor;
  readonly #limits: FrameLimits;
  readonly #connectTimeoutMs: number;
  readonly #handlers: ConnectionHandlers;
  #socket: MobzWebSocket | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: string, Impl: MobzWebSocketConstructor, limits: FrameLimits, connectTimeoutMs: number, handlers: ConnectionHandlers) {
    this.#url = url;
    this.#Impl = Impl;
    this.#limits = limits;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#handlers = handlers;
  }

  get isOpen(): boolean {
    return this.#socket?.readyState === OPEN;
  }

  /** Drops the current socket, if any, and opens a new one. */
  open(): void {
    this.abandon('reconnecting');
    let socket: MobzWebSocket;
    try {
      socket = new this.#Impl(this.#url);
    } catch {
      // Treated like a connection that failed at once: the caller's retry logic applies.
      queueMicrotask(() => this.#handlers.onClose(1006));
      return;
    }
    this.#socket = socket;
    const current = (): boolean => this.#socket === socket;
    socket.addEventListener('open', () => {
      if (!current()) return;
      clearTimeout(this.#connectTimer);
      this.#handlers.onOpen();
    });
    socket.addEventListener('message', (event) => {
      if (current()) this.#handlers.onFrame(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (!current()) return;
      this.#detach();
      this.#handlers.onClose(event.code);
    });
    // 'error' is always followed by 'close', which does the work.
    socket.addEventListener('error', () => {});
    // A TCP connection that a dead network never completes can hang far longer than we wait.
    this.#connectTimer = setTimeout(() => {
      if (!current() || socket.readyState !== CONNECTING) return;
      this.abandon('connect timeout');
      this.#handlers.onClose(1006);
    }, this.#connectTimeoutMs);
  }

  /** Writes a text message if the socket is open; false when it is not. Size errors throw. */
  send(text: string): boolean {
    if (!this.#socket || this.#socket.readyState !== OPEN) return false;
    sendMessage(this.#socket, text, this.#limits);
    return true;
  }

  /** Drops the socket at once, without a closing handshake and without onClose. */
  abandon(reason: string): void {
    const socket = this.#detach();
    if (socket) abandonSocket(socket, reason);
  }

  /**
   * Closes the socket orderly (what was sent before still goes out first), without
   * onClose; resolves once it is closed, or after `timeoutMs` with the socket dropped.
   */
  end(timeoutMs = 3000): Promise<void> {
    const socket = this.#detach();
    if (!socket || socket.readyState > OPEN) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        abandonSocket(socket, 'close timeout');
        resolve();
      }, timeoutMs);
      socket.addEventListener('close', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        socket.close(1000, 'client closing');
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  #detach(): MobzWebSocket | undefined {
    const socket = this.#socket;
    this.#socket = undefined;
    clearTimeout(this.#connectTimer);
    return socket;
  }
}
