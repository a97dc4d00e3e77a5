import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * The mobz wire signals as data (room-signals.md, webrtc-signals.md): the runtime
 * validators, the TypeScript types and docs/mobz.md all come from here. Top-level keys
 * are closed (an unknown key is INVALID_SIGNAL); `ss` and `op` stay open, since clients
 * put their own session and option fields there.
 */
export const Channel = Type.Union([Type.Literal('p2p'), Type.Literal('m2m'), Type.Literal('a2m'), Type.Literal('p2m')], {
  description: 'p2p: 2 publishers, no viewers. m2m: ≤ 9 publishers + viewers. a2m: audio-only m2m. p2m: 1 publisher (HLS) + viewers.',
});
export type Channel = Static<typeof Channel>;

const id = (description: string) => Type.String({ minLength: 1, description });

export const Session = Type.Object(
  {
    userId: id('With sessionId, the member key.'),
    sessionId: id('With userId, the member key.'),
    category: Type.Optional(Type.String({ description: '"stream" | "screenshare"' })),
    host: Type.Optional(Type.String({ description: '"iOS" | "iOS_EX" | "Android" | "Web" | "Web_Studio" | "Server"' })),
    deviceId: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    fullname: Type.Optional(Type.String()),
    avatar: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type Session = Static<typeof Session>;

export const Target = Type.Union(
  [Type.String({ minLength: 1, description: 'A userId: every session of that user.' }), Type.Object({ userId: id('The user.'), sessionId: Type.Optional(id('That session only.')) }, { additionalProperties: true })],
  { description: 'Who a signal is for.' },
);
export type Target = Static<typeof Target>;

function signal<N extends string, P extends Record<string, TSchema>>(name: N, fields: P, description: string) {
  return Type.Object({ s: Type.Literal(name), ch: Channel, ss: Session, rid: id('Room id.'), ...fields }, { additionalProperties: false, description });
}

const flag = Type.Boolean();
const sdp = (description: string) => Type.String({ description });

export const ClientSignals = {
  JOIN: signal(
    'JOIN',
    {
      ve: flag,
      ae: flag,
      eg: Type.Optional(Type.String({ description: 'Requested engine; the ack answers "native".' })),
      op: Type.Optional(
        Type.Object(
          { roomCreating: Type.Optional(flag), userFaking: Type.Optional(flag) },
          { additionalProperties: true, description: 'roomCreating: create the room (4022 if it exists, unless the sender is already a member: then it is a re-bind).' },
        ),
      ),
      uid: Type.Optional(Type.String({ description: 'Deprecated; ignored.' })),
    },
    'Create (op.roomCreating) or join a room; from a current member, re-binds it to this socket.',
  ),
  LEAVE: signal('LEAVE', { to: Type.Optional(Type.Unknown({ description: 'Deprecated; ignored.' })) }, 'Leave at once.'),
  UPDATE: signal('UPDATE', { ve: flag, ae: flag }, 'A publisher’s video/audio changed.'),
  HEARTBEAT: signal('HEARTBEAT', { bid: Type.String(), send_ack: Type.Optional(flag) }, 'Every 3 s per room; acked only with send_ack.'),
  KICK: signal('KICK', { to: Target }, 'Admin only: remove members.'),
  PUBLISH_REQUEST: signal(
    'PUBLISH_REQUEST',
    { ve: Type.Optional(flag), ae: Type.Optional(flag), msg: Type.Optional(Type.String()), action: Type.Optional(Type.String()) },
    'A viewer asks the admin to publish.',
  ),
  PUBLISH_ACCEPT: signal('PUBLISH_ACCEPT', { to: Target }, 'Admin only: promote a viewer.'),
  PUBLISH_REJECT: signal('PUBLISH_REJECT', { to: Target }, 'Admin only: refuse a publish request.'),
  OFFER: signal(
    'OFFER',
    {
      sdp: sdp('SDP offer.'),
      to: Type.Optional(Target),
      op: Type.Optional(Type.Object({ restarting: Type.Optional(flag), hlsForwarding: Type.Optional(flag) }, { additionalProperties: true })),
    },
    'Forwarded to `to` (p2p: the other member when absent).',
  ),
  ANSWER: signal('ANSWER', { sdp: sdp('SDP answer.'), to: Type.Optional(Target) }, 'Forwarded like OFFER.'),
  ICE: signal('ICE', { sdp: sdp('The ICE candidate (in the field named sdp, as in the documents).'), to: Type.Optional(Target) }, 'Forwarded like OFFER.'),
  WATCH: signal('WATCH', { to: Target }, 'Mesh: forwarded to the watched publisher, who then offers.'),
};

export type SignalName = keyof typeof ClientSignals;
export type ClientSignal<N extends SignalName = SignalName> = Static<(typeof ClientSignals)[N]>;

/** The `action` route of each signal (API Gateway route keys). */
export const ROUTES = {
  join: 'JOIN',
  leave: 'LEAVE',
  updateVideo: 'UPDATE',
  heartbeat: 'HEARTBEAT',
  kick: 'KICK',
  publishRequest: 'PUBLISH_REQUEST',
  publishAccept: 'PUBLISH_ACCEPT',
  publishReject: 'PUBLISH_REJECT',
  offer: 'OFFER',
  answer: 'ANSWER',
  iceCandidate: 'ICE',
  watch: 'WATCH',
} as const satisfies Record<string, SignalName>;

export const Publisher = Type.Object(
  {
    id: Type.String({ description: 'The sessionId.' }),
    userId: Type.String(),
    sessionId: Type.String(),
    role: Type.Union([Type.Literal('admin'), Type.Literal('publisher'), Type.Literal('viewer')]),
    video: flag,
    audio: flag,
    publish: flag,
    host: Type.String({ description: 'From the JOIN’s ss; "" when it had none.' }),
    category: Type.String({ description: 'From the JOIN’s ss; "" when it had none.' }),
    deviceId: Type.String({ description: 'From the JOIN’s ss; "" when it had none.' }),
    username: Type.Optional(Type.String()),
    fullname: Type.Optional(Type.String()),
    avatar: Type.Optional(Type.String()),
  },
  { description: 'One shape in the JOIN ack, the HEARTBEAT ack and PUBLISH_LIST_CHANGED; publishers only, oldest first.' },
);
export type Publisher = Static<typeof Publisher>;

const IceServer = Type.Object({ urls: Type.Array(Type.String()), username: Type.Optional(Type.String()), credential: Type.Optional(Type.String()) });
const ack = <N extends string, B extends TSchema>(name: N, body: B, description: string) =>
  Type.Object({ c: Type.Literal(200), s: Type.Literal(name), b: body }, { description });

export const ServerMessages = {
  JOIN: ack(
    'JOIN',
    Type.Object({
      pps: Type.Array(Publisher),
      rid: Type.String(),
      pt: Type.Union([Type.Literal('admin'), Type.Literal('publisher'), Type.Literal('viewer')], { description: 'The caller’s role.' }),
      eg: Type.Literal('native'),
      es: Type.Object({
        icfg: Type.Object({
          is: Type.Array(Type.String(), { description: 'STUN/TURN URLs.' }),
          servers: Type.Array(IceServer, { description: 'Switchboard extension: RTCIceServer objects with minted TURN credentials.' }),
        }),
      }),
    }),
    'Join ack. On a re-bind it is followed by the signals buffered while the member had no socket.',
  ),
  HEARTBEAT: ack('HEARTBEAT', Type.Object({ pps: Type.Array(Publisher), rid: Type.String(), bid: Type.String() }), 'Only when the heartbeat had send_ack.'),
  PUBLISH_LIST_CHANGED: ack('PUBLISH_LIST_CHANGED', Type.Object({ pps: Type.Array(Publisher), rid: Type.String() }), 'To every member with a socket, after any change of the publisher list.'),
  KEEPALIVE: ack('KEEPALIVE', Type.Object({ ts: Type.Number({ description: 'Server time, epoch ms.' }) }), 'On a socket idle for mobz.keepaliveMs; needs no reply.'),
  ERROR: Type.Object(
    { c: Type.Integer({ description: 'See the error table.' }), s: Type.String({ description: 'The signal the frame was for.' }), b: Type.Object({ req: Type.Unknown({ description: 'The original signal, as sent.' }), msg: Type.String() }) },
    { description: 'Error ack.' },
  ),
};

const validators = Object.fromEntries(Object.entries(ClientSignals).map(([name, schema]) => [name, Compile(schema)])) as {
  [N in SignalName]: ReturnType<typeof Compile<(typeof ClientSignals)[N]>>;
};

/** The first schema violation as a readable sentence, or undefined when the signal is valid. */
export function schemaProblem(name: SignalName, value: unknown): string | undefined {
  const validator = validators[name];
  if (validator.Check(value)) return undefined;
  for (const error of validator.Errors(value)) {
    if (error.keyword === 'boolean') continue; // the additionalProperties twin below says it better
    const where = error.instancePath || '/';
    const extra = (error.params as { additionalProperties?: string[] }).additionalProperties;
    return extra ? `unknown key ${JSON.stringify(extra[0])} in ${name}` : `${where} ${error.message}`;
  }
  return `invalid ${name}`;
}
