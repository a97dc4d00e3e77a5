/**
 * The mobz signaling protocol as TypeScript types: the signals a client sends (inside
 * `{"action":<route>,"data":<signal>}`), the acks the server answers with, and the
 * signals it forwards from peers (bare, exactly as the peer sent them).
 *
 * Browser-safe: no imports at all.
 */

export type Channel = 'p2p' | 'm2m' | 'a2m' | 'p2m';
export type Host = 'iOS' | 'iOS_EX' | 'Android' | 'Web' | 'Web_Studio' | 'Server';
export type Category = 'stream' | 'screenshare';
export type Role = 'admin' | 'publisher' | 'viewer';
export type Engine = 'native' | 'agora' | 'hundredms' | 'livekit';

/** `ss`: who sends. (`userId`, `sessionId`) is the member key of a room. */
export interface SessionInfo {
  userId: string;
  sessionId: string;
  category?: Category;
  host?: Host;
  deviceId?: string;
  username?: string;
  fullname?: string;
  avatar?: string;
}

/** A userId (every session of that user) or one session of a user. */
export type Recipient = string | { userId: string; sessionId?: string };

interface SignalBase {
  ch: Channel;
  ss: SessionInfo;
  rid: string;
}

export interface JoinOptions {
  /** Create the room (error 4022 if it exists); otherwise join it (4001 if missing). */
  roomCreating?: boolean;
  userFaking?: boolean;
  /** Join token of rooms backed by a Loop room. */
  token?: string;
}

export interface JoinSignal extends SignalBase {
  s: 'JOIN';
  ve: boolean;
  ae: boolean;
  eg?: Engine;
  op?: JoinOptions;
}

export interface LeaveSignal extends SignalBase {
  s: 'LEAVE';
}

export interface UpdateSignal extends SignalBase {
  s: 'UPDATE';
  ve: boolean;
  ae: boolean;
}

export interface HeartbeatSignal extends SignalBase {
  s: 'HEARTBEAT';
  bid: string;
  send_ack?: boolean;
}

export interface KickSignal extends SignalBase {
  s: 'KICK';
  to: Recipient;
}

export interface PublishRequestSignal extends SignalBase {
  s: 'PUBLISH_REQUEST';
  ve?: boolean;
  ae?: boolean;
  /** Deprecated in the documents; a note to the room owner. */
  msg?: string;
}

export interface PublishAcceptSignal extends SignalBase {
  s: 'PUBLISH_ACCEPT';
  to: Recipient;
}

export interface PublishRejectSignal extends SignalBase {
  s: 'PUBLISH_REJECT';
  to: Recipient;
}

export interface OfferOptions {
  /** ICE restart of the uplink (SFU rooms). */
  restarting?: boolean;
  hlsForwarding?: boolean;
}

export interface OfferSignal extends SignalBase {
  s: 'OFFER';
  sdp: string;
  to?: Recipient;
  op?: OfferOptions;
}

export interface AnswerSignal extends SignalBase {
  s: 'ANSWER';
  sdp: string;
  to?: Recipient;
}

/** An ICE candidate; it travels in the field named `sdp`, as in the documents. */
export interface IceSignal extends SignalBase {
  s: 'ICE';
  sdp: string;
  to?: Recipient;
}

export interface WatchSignal extends SignalBase {
  s: 'WATCH';
  to: Recipient;
}

export type ClientSignal =
  | JoinSignal
  | LeaveSignal
  | UpdateSignal
  | HeartbeatSignal
  | KickSignal
  | PublishRequestSignal
  | PublishAcceptSignal
  | PublishRejectSignal
  | OfferSignal
  | AnswerSignal
  | IceSignal
  | WatchSignal;

export type SignalName = ClientSignal['s'];

/** The `action` each signal travels under. */
export const ROUTES = {
  JOIN: 'join',
  LEAVE: 'leave',
  UPDATE: 'updateVideo',
  HEARTBEAT: 'heartbeat',
  KICK: 'kick',
  PUBLISH_REQUEST: 'publishRequest',
  PUBLISH_ACCEPT: 'publishAccept',
  PUBLISH_REJECT: 'publishReject',
  OFFER: 'offer',
  ANSWER: 'answer',
  ICE: 'iceCandidate',
  WATCH: 'watch',
} as const satisfies Record<SignalName, string>;

export type Route = (typeof ROUTES)[SignalName];

/** What goes over the socket, client → server. */
export interface ClientEnvelope {
  action: Route;
  data: ClientSignal;
}

/** Signals a peer sends that the server forwards to us unchanged. */
export type ForwardedSignal =
  | OfferSignal
  | AnswerSignal
  | IceSignal
  | PublishRequestSignal
  | PublishAcceptSignal
  | PublishRejectSignal
  | KickSignal
  | WatchSignal;

export const FORWARDED_SIGNALS: ReadonlySet<string> = new Set<ForwardedSignal['s']>([
  'OFFER',
  'ANSWER',
  'ICE',
  'PUBLISH_REQUEST',
  'PUBLISH_ACCEPT',
  'PUBLISH_REJECT',
  'KICK',
  'WATCH',
]);

// ── Server → client ─────────────────────────────────────────────────────────

/** A publisher as JOIN acks, HEARTBEAT acks and PUBLISH_LIST_CHANGED list it. */
export interface Publisher {
  /** The sessionId. */
  id: string;
  userId: string;
  sessionId: string;
  role: Role;
  video: boolean;
  audio: boolean;
  publish: boolean;
  host?: Host;
  category?: Category;
  deviceId?: string;
  username?: string;
  fullname?: string;
  avatar?: string;
}

/** Structurally an RTCIceServer, so it can go straight into `new RTCPeerConnection`. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface EngineSettings {
  /** `native`: `is` are STUN/TURN URLs; `servers` adds TURN credentials (a Switchboard extension). */
  icfg?: { is: string[]; servers?: IceServer[] };
  sdps?: { id: string; sdp: string };
  roomId?: string;
  role?: 'host' | 'guest';
  /** p2m publishers: the Bearer token for the HLS data-signal endpoints. */
  token?: string;
}

export interface JoinAckBody {
  pps: Publisher[];
  rid: string;
  /** The caller's role. */
  pt: Role;
  eg: Engine;
  es: EngineSettings;
}

export interface JoinAck {
  c: 200;
  s: 'JOIN';
  b: JoinAckBody;
}

export interface HeartbeatAck {
  c: 200;
  s: 'HEARTBEAT';
  b: { pps: Publisher[]; rid: string; bid: string };
}

export interface PublishListChanged {
  c: 200;
  s: 'PUBLISH_LIST_CHANGED';
  b: { pps: Publisher[]; rid: string };
}

export interface KeepaliveAck {
  c: 200;
  s: 'KEEPALIVE';
  b: { ts: number };
}

/** SFU rooms: the answer to a publisher's OFFER. */
export interface OfferAck {
  c: 200;
  s: 'OFFER';
  b: { rid: string; sdp: string };
}

/** SFU rooms: the SFU's offer for a watched publisher. */
export interface WatchAck {
  c: 200;
  s: 'WATCH';
  b: { pps: Array<{ id: string; sdp: string }>; rid: string };
}

export const ERROR_CODES = {
  INTERNAL_SERVER_ERROR: 500,
  INVALID_SIGNAL: 2001,
  UNSUPPORTED_CHANNEL: 2002,
  ROOM_NOT_FOUND: 4001,
  NOT_ROOM_MEMBER: 4002,
  RECIPIENT_NOT_MEMBER: 4003,
  ALREADY_EXIST_ROOM: 4022,
  ALREADY_IS_PUBLISHER: 4023,
  USER_LEFT: 4024,
  ROOM_FULL: 4025,
  PERMISSION_NOT_FOUND: 4051,
} as const;

export interface ErrorAck {
  c: number;
  /** The signal the failed frame was for, or `UNKNOWN`. */
  s: string;
  /** `req`: the signal as sent (the raw text when it was not JSON). */
  b: { req: unknown; msg: string };
}

export type ServerAck = JoinAck | HeartbeatAck | PublishListChanged | KeepaliveAck | OfferAck | WatchAck;
export type ServerMessage = ServerAck | ErrorAck | ForwardedSignal;
