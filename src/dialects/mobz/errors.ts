/**
 * Every error ack code of the mobz dialect, in one table: handlers reply from it, the
 * protocol suite asserts against it, and the README's and docs/mobz.md's tables are
 * generated from it. Codes and names are room-signals.md's; 4025 is Switchboard's
 * extension (specs/mobz.md).
 */
export const MobzError = {
  INTERNAL_SERVER_ERROR: { code: 500, meaning: 'The server failed; the client shall exit the room (for WATCH: retry).' },
  INVALID_SIGNAL: { code: 2001, meaning: 'Unknown route or signal, invalid JSON, or a signal that does not match its schema (missing, extra or mistyped keys).' },
  UNSUPPORTED_CHANNEL: { code: 2002, meaning: "The signal is not supported in this room's channel, or its `ch` is not the room's." },
  ROOM_NOT_FOUND: { code: 4001, meaning: 'The room does not exist.' },
  NOT_ROOM_MEMBER: { code: 4002, meaning: 'The sender is not a member of the room (or joined it on another socket).' },
  RECIPIENT_NOT_MEMBER: { code: 4003, meaning: 'The recipient (`to`, the p2p peer, the owner) is not a member.' },
  ALREADY_EXIST_ROOM: { code: 4022, meaning: 'JOIN with roomCreating for a room that exists (a member re-joining re-binds instead).' },
  ALREADY_IS_PUBLISHER: { code: 4023, meaning: 'PUBLISH_REQUEST from, or PUBLISH_ACCEPT of, a publisher.' },
  USER_LEFT: { code: 4024, meaning: 'WATCH of someone who is not in the room.' },
  ROOM_FULL: { code: 4025, meaning: 'No free slot for the role (a third p2p member; PUBLISH_ACCEPT with 9 publishers).' },
  PERMISSION_NOT_FOUND: { code: 4051, meaning: 'UPDATE or OFFER from a viewer; KICK or PUBLISH_ACCEPT/REJECT from anyone but the admin.' },
} as const;

export type MobzErrorName = keyof typeof MobzError;
export type MobzErrorCode = (typeof MobzError)[MobzErrorName]['code'];

/**
 * `{"c":<code>,"s":<signal>,"b":{"req":<original signal>,"msg":<text>}}`. `reqSource` is the
 * JSON text of the original signal as the client sent it, so `req` echoes it exactly.
 */
export function errorAck(name: MobzErrorName, signal: string, reqSource: string, detail: string): string {
  return `{"c":${MobzError[name].code},"s":${JSON.stringify(signal)},"b":{"req":${reqSource},"msg":${JSON.stringify(`${name}: ${detail}`)}}}`;
}

/** Thrown by room operations to answer with an error ack; caught where the signal is handled. */
export class MobzRefusal extends Error {
  readonly errorName: MobzErrorName;
  constructor(errorName: MobzErrorName, detail: string) {
    super(detail);
    this.errorName = errorName;
  }
}
