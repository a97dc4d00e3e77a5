import type { DialectMetrics } from '../../ops/metrics.ts';
import type { Connection } from '../../transport/connection.ts';

/**
 * Every error the cuttlefish dialect sends, in one table: handlers build their replies from
 * it, the protocol tests assert against it, and the README's error table is generated from
 * it. Texts are the reference operator's, byte for byte; `<…>` parts are filled in.
 *
 * `close` tells whether the socket is closed after the error frame (code `closeCode`).
 */
export const CuttlefishError = {
  BINARY_MESSAGE: { text: 'Received a binary message', close: true, side: 'both' },
  INVALID_JSON: { text: 'Received Invalid JSON', close: true, side: 'both' },
  INVALID_FORMAT: { text: "Invalid message format: '<raw>'", close: true, side: 'both' },
  DEVICE_ALREADY_REGISTERED: { text: 'Device already registered: <id>', close: true, side: 'device' },
  MISSING_DEVICE_ID: { text: 'Missing device id in registration request', close: true, side: 'device' },
  DEVICE_ID_TAKEN: { text: 'Device id already taken: <id>', close: true, side: 'device' },
  FORWARD_INVALID_CLIENT_ID: { text: 'Forward failed: Missing or invalid client id', close: true, side: 'device' },
  FORWARD_MISSING_PAYLOAD: { text: 'Forward failed: Missing payload', close: true, side: 'device' },
  FORWARD_UNKNOWN_CLIENT: { text: 'Forward failed: Unknown client <n>', close: false, side: 'device' },
  FORWARD_DEVICE_NOT_REGISTERED: { text: 'Forward failed: Device not registered', close: true, side: 'device' },
  UNKNOWN_MESSAGE_TYPE: { text: 'Unknown message type: <t>', close: false, side: 'both' },
  DEVICE_NOT_FOUND: { text: "Connection failed: Device not found: '<id>'", close: true, side: 'client' },
  MULTIPLE_DEVICES: { text: 'Attempt to connect to multiple devices over same websocket', close: true, side: 'client' },
  CONNECT_MISSING_DEVICE_ID: { text: 'Invalid connection request: Missing device id', close: true, side: 'client' },
  FORWARD_NO_DEVICE: { text: 'Forward failed: No device associated to client', close: true, side: 'client' },
  FORWARD_NO_PAYLOAD: { text: 'Forward failed: No payload present in message', close: true, side: 'client' },
  FORWARD_DEVICE_DISCONNECTED: { text: 'Forward failed: Device disconnected', close: true, side: 'client' },
  DEVICE_DISCONNECTED: { text: 'Device disconnected', close: true, side: 'client' },
} as const;

export type CuttlefishErrorCode = keyof typeof CuttlefishError;

/** WebSocket close code after an error frame: 1003 for binary data, 1008 otherwise. */
export function closeCodeFor(code: CuttlefishErrorCode): number {
  return code === 'BINARY_MESSAGE' ? 1003 : 1008;
}

/** The error text with its placeholder filled in. */
export function errorText(code: CuttlefishErrorCode, detail?: string | number): string {
  const { text } = CuttlefishError[code];
  return detail === undefined ? text : text.replace(/<[a-z]+>/, String(detail));
}

/** The `{"error":…}` frame; JSON.stringify escapes quotes the C++ original left raw. */
export function errorFrame(code: CuttlefishErrorCode, detail?: string | number): string {
  return JSON.stringify({ error: errorText(code, detail) });
}

/**
 * Sends the error frame, counts it, and closes the socket when the table says so.
 * Returns true when it closed (the caller then releases what the socket held).
 */
export function sendError(connection: Connection, metrics: DialectMetrics, code: CuttlefishErrorCode, detail?: string | number): boolean {
  metrics.error(code);
  connection.send(errorFrame(code, detail));
  if (!CuttlefishError[code].close) return false;
  connection.close(closeCodeFor(code), errorText(code, detail));
  return true;
}

/** Errors of the HTTP polling endpoints: `{"type":"error","error":…}` with a status. */
export const CuttlefishHttpError = {
  BAD_REQUEST_JSON: { status: 400, text: 'Invalid JSON in request body' },
  BAD_REQUEST_DEVICE_ID: { status: 400, text: 'Missing device_id' },
  BAD_REQUEST_CONNECTION_ID: { status: 400, text: 'Missing connection_id' },
  BAD_REQUEST_PAYLOAD: { status: 400, text: 'Missing payload' },
  UNKNOWN_CONNECTION: { status: 401, text: 'Unknown connection id' },
  DEVICE_NOT_FOUND: { status: 404, text: 'Device not found' },
  DEVICE_DISCONNECTED: { status: 404, text: 'Device disconnected' },
  BODY_TOO_LARGE: { status: 413, text: 'Request body over cuttlefish.maxMessageBytes' },
} as const;

export type CuttlefishHttpErrorCode = keyof typeof CuttlefishHttpError;
