/** The WebSocket surface the client needs; WHATWG only, so it runs in browsers. */
import type { WebSocketLike } from '../common/endpoint.ts';
export { endpointUrl, parseServerFrame } from '../common/endpoint.ts';

/** The part of the WHATWG WebSocket the client uses: browsers' and Node's globals fit. */
export type MobzWebSocket = WebSocketLike;

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
