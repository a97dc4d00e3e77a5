import { MobzMessageTooLargeError } from './errors.ts';
import type { FragmentingWebSocket, MobzWebSocket } from './socket.ts';

export interface FrameLimits {
  maxFrameBytes: number;
  maxMessageBytes: number;
  /** The socket implements FragmentingWebSocket (Node's `ws`); browsers' never does. */
  fragment: boolean;
}

const encoder = new TextEncoder();

/**
 * Throws MobzMessageTooLargeError for a text the server would close the socket for,
 * so callers learn it when they send, even while the message waits in the buffer.
 */
export function checkMessageSize(text: string, limits: FrameLimits): void {
  const bytes = encoder.encode(text).byteLength;
  if (bytes > limits.maxMessageBytes) throw new MobzMessageTooLargeError('message', bytes, limits.maxMessageBytes);
  if (!limits.fragment && bytes > limits.maxFrameBytes) throw new MobzMessageTooLargeError('frame', bytes, limits.maxFrameBytes);
}

/**
 * Writes one text message, split into frames of at most maxFrameBytes when it is
 * larger: the server closes the socket on a larger frame, and most clients (ws
 * included) otherwise put a whole message into one frame. The split may cut a UTF-8
 * sequence; receivers validate text only once the message is complete.
 */
export function sendMessage(socket: MobzWebSocket, text: string, limits: FrameLimits): void {
  checkMessageSize(text, limits);
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= limits.maxFrameBytes) return socket.send(text);
  const fragmenting = socket as FragmentingWebSocket;
  for (let offset = 0; offset < bytes.byteLength; offset += limits.maxFrameBytes) {
    const end = Math.min(offset + limits.maxFrameBytes, bytes.byteLength);
    fragmenting.send(bytes.subarray(offset, end), { binary: false, fin: end === bytes.byteLength });
  }
}
