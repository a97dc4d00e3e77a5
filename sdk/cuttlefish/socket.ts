/** The socket plumbing both connectors share; WHATWG WebSocket only, so it runs in browsers. */
import type { WebSocketLike } from '../common/endpoint.ts';
export { endpointUrl, parseServerFrame, type WebSocketLike } from '../common/endpoint.ts';

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ConnectorOptions {
  /** WebSocket class to use instead of the global one. */
  WebSocket?: WebSocketConstructor;
}

/** How a connector's socket ended. `error` is the server's last `{"error":…}` text, if any. */
export interface DisconnectInfo {
  code: number;
  reason: string;
  error?: string;
}

/** A rejection of `register` / `connect`; `message` is the server's error text when it sent one. */
export class CuttlefishConnectorError extends Error {
  /** The `{"error":…}` text from the server; undefined when the socket just closed or failed. */
  readonly serverError: string | undefined;

  constructor(message: string, serverError?: string) {
    super(message);
    this.name = 'CuttlefishConnectorError';
    this.serverError = serverError;
  }
}

/**
 * Starts opening a socket; `opened` resolves once it is open. Frames and the close are
 * wired up before anything can arrive, so nothing the server sends right away is missed.
 * The socket is returned at once so that a close() during the handshake can abort it.
 */
export function openSocket(
  url: string,
  Ctor: WebSocketConstructor | undefined,
  handlers: { onText(data: unknown): void; onClose(code: number, reason: string): void },
): { socket: WebSocketLike; opened: Promise<void> } {
  const Impl = Ctor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl) throw new CuttlefishConnectorError('No WebSocket implementation: pass options.WebSocket');
  const socket = new Impl(url);
  const opened = new Promise<void>((resolve, reject) => {
    let open = false;
    socket.addEventListener('open', () => {
      open = true;
      resolve();
    });
    socket.addEventListener('close', (event) => {
      if (!open) reject(new CuttlefishConnectorError(`WebSocket to ${url} failed (close code ${event.code})`));
    });
  });
  socket.addEventListener('message', (event) => handlers.onText(event.data));
  socket.addEventListener('close', (event) => handlers.onClose(event.code, event.reason));
  // 'error' is always followed by 'close', which settles everything; the listener only
  // keeps implementations that treat an unhandled 'error' as fatal quiet.
  socket.addEventListener('error', () => {});
  return { socket, opened };
}

/** WebSocket.CONNECTING / OPEN; literals because injected constructors need not have the statics. */
export const CONNECTING = 0;
export const OPEN = 1;

/**
 * A set of callbacks that holds back events until the first callback is added. Why:
 * the server may relay a message in the same tick as the handshake reply (the real
 * client forwards the instant it gets `device_info`), before the caller has had a
 * chance to subscribe; such a message must not be dropped.
 *
 * Held events are replayed in a microtask, not inside `add`, so the callback can use the
 * unsubscribe function `add` returns; events emitted meanwhile queue behind them.
 */
export class BufferedListeners<Args extends unknown[]> {
  readonly #listeners = new Set<(...args: Args) => void>();
  #held: Args[] | undefined = [];
  #flushing = false;

  add(listener: (...args: Args) => void): () => void {
    this.#listeners.add(listener);
    if (this.#held && !this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => {
        const held = this.#held ?? [];
        this.#held = undefined;
        for (const args of held) this.#deliver(args);
      });
    }
    return () => this.#listeners.delete(listener);
  }

  emit(...args: Args): void {
    if (this.#held) this.#held.push(args);
    else this.#deliver(args);
  }

  #deliver(args: Args): void {
    for (const listener of [...this.#listeners]) listener(...args);
  }
}

/** Plain callbacks: errors and closes are not held back (there is no later to report them to). */
export class Listeners<Args extends unknown[]> {
  readonly #listeners = new Set<(...args: Args) => void>();

  add(listener: (...args: Args) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(...args: Args): void {
    for (const listener of [...this.#listeners]) listener(...args);
  }
}
