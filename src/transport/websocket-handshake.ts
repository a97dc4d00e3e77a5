import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** RFC 6455 §1.3: appended to the client's key before hashing. */
const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 7230 token characters, for subprotocol names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type HandshakeVerdict =
  | { ok: true; response: string }
  | { ok: false; status: number; text: string; headers?: Record<string, string> };

/**
 * Checks an upgrade request (RFC 6455 §4.2.1) and builds the 101 response. Version 8 is
 * taken as well as 13 (same framing; old clients still send it). No extension is
 * negotiated. Of the subprotocols a client offers, the first is chosen: that is what `ws`
 * servers have always answered, and clients that offer one often require an answer.
 */
export function answerUpgrade(request: IncomingMessage): HandshakeVerdict {
  if (request.method !== 'GET') return { ok: false, status: 405, text: 'Method Not Allowed: a WebSocket upgrade must be a GET' };
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return { ok: false, status: 400, text: 'Bad Request: invalid Upgrade header' };
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key.trim())) return { ok: false, status: 400, text: 'Bad Request: missing or invalid Sec-WebSocket-Key header' };
  const version = request.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return { ok: false, status: 400, text: 'Bad Request: missing or invalid Sec-WebSocket-Version header', headers: { 'Sec-WebSocket-Version': '13, 8' } };
  }
  let protocolLine = '';
  const offered = request.headers['sec-websocket-protocol'];
  if (offered !== undefined) {
    const protocols = offered.split(',').map((name) => name.trim());
    if (protocols.some((name) => !TOKEN.test(name))) return { ok: false, status: 400, text: 'Bad Request: invalid Sec-WebSocket-Protocol header' };
    protocolLine = `Sec-WebSocket-Protocol: ${protocols[0]}\r\n`;
  }
  const accept = createHash('sha1').update(key.trim() + ACCEPT_GUID).digest('base64');
  return {
    ok: true,
    response: `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${protocolLine}\r\n`,
  };
}
