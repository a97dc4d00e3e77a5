import type { ErrorAck } from './messages.ts';
import type { RoomState, TransitionReason } from './states.ts';

/** A call the current state does not allow (e.g. `join()` while joined, `offer()` after `leave()`). */
export class MobzStateError extends Error {
  readonly state: RoomState;

  constructor(operation: string, state: RoomState, closed: boolean) {
    super(`MobzRoomClient: ${operation}() is not allowed ${closed ? 'after close()' : `in state '${state}'`}`);
    this.name = 'MobzStateError';
    this.state = state;
  }
}

/**
 * A message the connection cannot carry. `limit: 'frame'`: over the frame limit on a
 * socket that cannot fragment (browsers), `'message'`: over the message limit anywhere.
 * The server would close the socket with 1009, so the message is never sent.
 */
export class MobzMessageTooLargeError extends Error {
  readonly limit: 'frame' | 'message';
  readonly bytes: number;
  readonly maxBytes: number;

  constructor(limit: 'frame' | 'message', bytes: number, maxBytes: number) {
    super(
      limit === 'frame'
        ? `mobz message of ${bytes} bytes exceeds the ${maxBytes}-byte frame limit, and this WebSocket cannot split messages into frames (browsers cannot); keep messages at most ${maxBytes} bytes or use the Node SDK`
        : `mobz message of ${bytes} bytes exceeds the ${maxBytes}-byte message limit`,
    );
    this.name = 'MobzMessageTooLargeError';
    this.limit = limit;
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** Why `join()` was rejected: the client went to `failed`, or was closed before it joined. */
export class MobzJoinError extends Error {
  readonly reason: TransitionReason | 'closed';
  /** The JOIN error ack, when the server refused the join. */
  readonly ack: ErrorAck | undefined;

  constructor(reason: TransitionReason | 'closed', ack?: ErrorAck) {
    super(ack ? `mobz join refused: ${ack.c} ${ack.b.msg}` : `mobz join failed: ${reason}`);
    this.name = 'MobzJoinError';
    this.reason = reason;
    this.ack = ack;
  }
}
