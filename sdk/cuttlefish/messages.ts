/**
 * The Cuttlefish signaling protocol as TypeScript types (see docs of the `cuttlefish`
 * dialect, /connect_client and /register_device), plus the few wire helpers both
 * connectors share.
 *
 * This file must stay free of Node-only imports: the SDK runs in browsers too.
 *
 * Message types are `type` aliases rather than interfaces on purpose: aliases are
 * assignable to `JsonValue`'s index signature, so a typed payload such as
 * `{ type: 'offer', sdp }` can be handed to `sendToDevice` without a cast.
 */

/** Any JSON value. Payloads are relayed as JSON values, never re-stringified. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An RTCIceServer as the server sends it: `urls` is always an array (real devices reject a string). */
export type IceServer = {
  urls: string[];
  /** Present on TURN entries: credentials minted per connection. */
  username?: string;
  credential?: string;
};

// ── Server → device and server → client ─────────────────────────────────────

/** First frame after a successful register (devices) or connect (clients). */
export type ConfigMessage = { message_type: 'config'; ice_servers: IceServer[] };

/** `{"error": text}`: the server's error frame. Most are followed by a close. */
export type ErrorMessage = { error: string };

// ── Device side ─────────────────────────────────────────────────────────────

/** Device → server. Real devices add fields such as `device_port`; the server ignores them. */
export type RegisterMessage = {
  message_type: 'register';
  device_id: string;
  device_info: JsonValue;
  [extra: string]: JsonValue;
};

/** Device → server: a payload for one of its clients. */
export type DeviceForwardMessage = { message_type: 'forward'; client_id: number; payload: JsonValue };

/** Server → device: a client's payload. `client_id` is per device, from 1, never reused. */
export type ClientMsg = { message_type: 'client_msg'; client_id: number; payload: JsonValue };

/** Server → device: the client has gone (its socket closed, or a forward found it gone). */
export type ClientDisconnected = { message_type: 'client_disconnected'; client_id: number };

export type DeviceToServerMessage = RegisterMessage | DeviceForwardMessage;
export type ServerToDeviceMessage = ConfigMessage | ClientMsg | ClientDisconnected | ErrorMessage;

// ── Client side ─────────────────────────────────────────────────────────────

/**
 * Client → server. `switchboard_wait_ms` is Switchboard's application-prefixed extension
 * (the seed's "alternative flow"): wait that long for a device that has not registered yet.
 */
export type ConnectMessage = { message_type: 'connect'; device_id: string; switchboard_wait_ms?: number };

/** Client → server: a payload for its device. */
export type ClientForwardMessage = { message_type: 'forward'; payload: JsonValue };

/** Server → client, right after `config`: the device's `device_info`, exactly as registered. */
export type DeviceInfoMessage = { message_type: 'device_info'; device_info: JsonValue };

/** Server → client: a device's payload. */
export type DeviceMsg = { message_type: 'device_msg'; payload: JsonValue };

export type ClientToServerMessage = ConnectMessage | ClientForwardMessage;
export type ServerToClientMessage = ConfigMessage | DeviceInfoMessage | DeviceMsg | ErrorMessage;

// ── The payloads real Cuttlefish devices and the browser client exchange ────
// Not interpreted by the server; typed here because every user of the SDK needs them.
// The device is the WebRTC offerer: the client asks with `request-offer`.

export type RequestOfferPayload = { type: 'request-offer'; ice_servers: IceServer[] };
export type SdpPayload = { type: 'offer' | 'answer'; sdp: string };
/** Client → device: an RTCIceCandidate's JSON form. */
export type ClientIceCandidatePayload = {
  type: 'ice-candidate';
  candidate: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null };
};
/** Device → client: the candidate fields flattened (the devices' format differs from the client's). */
export type DeviceIceCandidatePayload = { type: 'ice-candidate'; mid: string; mLineIndex: number; candidate: string };
export type DeviceErrorPayload = { type: 'error'; error: string };

/** What the browser client sends (an `offer` only when renegotiating). */
export type ClientPayload = RequestOfferPayload | SdpPayload | ClientIceCandidatePayload;
/** What a device sends. */
export type DevicePayload = SdpPayload | DeviceIceCandidatePayload | DeviceErrorPayload;

// ── Transport ───────────────────────────────────────────────────────────────

/**
 * The part of the WHATWG WebSocket the connectors use. The global `WebSocket` of
 * browsers and Node ≥ 22 fits, and so does the `ws` package's class, for callers that
 * need its options (TLS, proxies) injected as a constructor.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}

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
 * The WebSocket URL of an endpoint. Accepts a server base (`ws://host:port`, with an
 * optional path prefix for servers behind a proxy) or the endpoint URL itself, and
 * http(s) URLs, so a browser page can pass `location.origin`.
 */
export function endpointUrl(base: string, endpoint: '/register_device' | '/connect_client'): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (!url.pathname.endsWith(endpoint)) url.pathname = url.pathname.replace(/\/$/, '') + endpoint;
  return url.toString();
}

/** A server frame: a JSON object. Anything else (binary data, bad JSON) is a protocol error. */
export function parseServerFrame(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
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
