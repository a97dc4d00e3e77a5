/** The WebSocket surface the client needs; WHATWG only, so it runs in browsers. */

/** The part of the WHATWG WebSocket the client uses: browsers' and Node's globals fit. */
export interface MobzWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}

/**
 * A socket that can write one message as several frames: `send(chunk, { fin: false })`
 * continues the message, `{ fin: true }` ends it. The `ws` package's WebSocket is one.
 */
export interface FragmentingWebSocket extends MobzWebSocket {
  send(data: string | Uint8Array, options?: { binary?: boolean; fin?: boolean }): void;
}

export type MobzWebSocketConstructor = new (url: string) => MobzWebSocket;

/** WebSocket.CONNECTING / OPEN; literals because injected constructors need not have the statics. */
export const CONNECTING = 0;
export const OPEN = 1;

/**
 * The endpoint's WebSocket URL from a server base (`ws://host:port`, optionally with a
 * path prefix) or the endpoint URL itself; http(s) is accepted so a page can pass
 * `location.origin`.
 */
export function endpointUrl(base: string, path: string): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (!url.pathname.endsWith(path)) url.pathname = url.pathname.replace(/\/$/, '') + path;
  return url.toString();
}

/** A server frame: a JSON object, or undefined for anything else. */
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
 * Drops a socket at once. `terminate()` (ws) does not wait for a closing handshake that
 * a dead network would never complete; the standard close() is the fallback.
 */
export function abandonSocket(socket: MobzWebSocket, reason: string): void {
  const terminate = (socket as { terminate?: () => void }).terminate;
  try {
    if (typeof terminate === 'function') terminate.call(socket);
    else socket.close(4000, reason);
  } catch {
    // Already closed or never opened: nothing left to drop.
  }
}
