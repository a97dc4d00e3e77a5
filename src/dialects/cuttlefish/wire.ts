import type { IceServer } from '../../ops/config.ts';
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

// Server → peer frames. Raw JSON sources are spliced in as received (see memberSource).

export function configFrame(iceServers: IceServer[]): string {
  return JSON.stringify({ message_type: 'config', ice_servers: iceServers });
}

export function deviceInfoFrame(deviceInfoSource: string): string {
  return `{"message_type":"device_info","device_info":${deviceInfoSource}}`;
}

export function clientMessageFrame(clientId: number, payloadSource: string): string {
  return `{"message_type":"client_msg","client_id":${clientId},"payload":${payloadSource}}`;
}

export function deviceMessageFrame(payloadSource: string): string {
  return `{"message_type":"device_msg","payload":${payloadSource}}`;
}

export function clientDisconnectedFrame(clientId: number): string {
  return `{"message_type":"client_disconnected","client_id":${clientId}}`;
}
