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
