import { JsonMemberSpans } from '../../core/json-member-spans.ts';
import type { IceServer } from '../../ops/config.ts';
import type { Connection } from '../../transport/connection.ts';
import type { CuttlefishErrorCode } from './errors.ts';

/** A text frame that passed the checks every frame gets, on either endpoint. */
export type ParsedFrame =
  | { ok: true; type: string; message: Record<string, unknown> }
  | { ok: false; error: CuttlefishErrorCode; detail?: string };

export function parseFrame(text: string): ParsedFrame {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { ok: false, error: 'INVALID_JSON' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { ok: false, error: 'INVALID_FORMAT', detail: text };
  }
  const type = (message as Record<string, unknown>).message_type;
  if (typeof type !== 'string') return { ok: false, error: 'INVALID_FORMAT', detail: text };
  return { ok: true, type, message: message as Record<string, unknown> };
}

/**
 * The relay hot path: reads a `forward` frame straight from its bytes. It vouches only for
 * a well-formed frame with `"message_type":"forward"` and a payload; anything else (bad
 * input included) is for parseFrame, whose answers, errors included, are the spec's.
 * One instance serves every socket: a frame is read and used before the next one arrives.
 */
class QuickForwardReader {
  readonly #spans = new JsonMemberSpans(['message_type', 'payload', 'client_id']);
  /** The frame's client_id when it is a plain integer literal, else -1. */
  clientId = -1;

  /** The payload's bytes (a view of `frame`), or undefined when parseFrame must decide. */
  read(frame: Buffer): Buffer | undefined {
    const spans = this.#spans;
    if (!spans.scan(frame) || !spans.valueIs(frame, 0, FORWARD) || spans.start[1] === -1) return undefined;
    this.clientId = spans.smallInteger(frame, 2);
    return frame.subarray(spans.start[1], spans.end[1]);
  }
}

const FORWARD = Buffer.from('"forward"');
export const quickForward = new QuickForwardReader();

/**
 * A relayed payload: its JSON source as a string (from the Bus or HTTP), or as UTF-8 bytes
 * (from a WebSocket on this node). Either is written out as is.
 */
export type PayloadSource = string | Uint8Array;

export function payloadText(payload: PayloadSource): string {
  return typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString();
}

// Server → peer frames. Raw JSON sources are spliced in as received (see memberSource).

export function configFrame(iceServers: IceServer[]): string {
  return JSON.stringify({ message_type: 'config', ice_servers: iceServers });
}

export function deviceInfoFrame(deviceInfoSource: string): string {
  return `{"message_type":"device_info","device_info":${deviceInfoSource}}`;
}

const CLOSE_BRACE = Buffer.from('}');

/**
 * Sends `head` + payload + `}`. A payload's bytes are spliced into the frame as they are; a
 * payload string (from the Bus or HTTP) is encoded once, into them.
 */
export function sendEnveloped(connection: Connection, head: Uint8Array, payload: PayloadSource): void {
  connection.sendSpliced(head, typeof payload === 'string' ? Buffer.from(payload) : payload, CLOSE_BRACE);
}

/** Client ids are small counters per device: their heads are made once and kept. */
const CACHED_CLIENT_HEADS = 1024;
const clientHeads = new Array<Buffer | undefined>(CACHED_CLIENT_HEADS).fill(undefined);

export function clientMessageHead(clientId: number): Buffer {
  const cached = clientHeads[clientId];
  if (cached !== undefined) return cached;
  const head = Buffer.from(`{"message_type":"client_msg","client_id":${clientId},"payload":`);
  if (clientId >= 0 && clientId < CACHED_CLIENT_HEADS) clientHeads[clientId] = head;
  return head;
}

export const DEVICE_MESSAGE_HEAD = Buffer.from('{"message_type":"device_msg","payload":');

export function clientDisconnectedFrame(clientId: number): string {
  return `{"message_type":"client_disconnected","client_id":${clientId}}`;
}
