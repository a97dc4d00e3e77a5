/**
 * The room-signaling state machine of the MobZ documents (signaling.md, "State"):
 * exactly these states and edges, nothing else.
 */

export type RoomState = 'idle' | 'initializing' | 'joined' | 'leaved' | 'waitingNetwork' | 'reinitializing' | 'failed';

const EDGES: Readonly<Record<RoomState, readonly RoomState[]>> = {
  idle: ['initializing'],
  initializing: ['joined', 'failed'],
  joined: ['leaved', 'reinitializing', 'waitingNetwork', 'failed'],
  leaved: ['initializing'],
  waitingNetwork: ['reinitializing'],
  reinitializing: ['joined', 'failed'],
  failed: [],
};

export function canTransition(from: RoomState, to: RoomState): boolean {
  return EDGES[from].includes(to);
}

/** Every edge of the diagram, for tests and tooling. */
export const TRANSITIONS: ReadonlyArray<readonly [RoomState, RoomState]> = Object.entries(EDGES).flatMap(([from, tos]) =>
  tos.map((to) => [from as RoomState, to] as const),
);

/**
 * Why a transition happened. Stable strings an application can switch on; codes that
 * vary are appended after a colon (`socket-lost:1006`, `join-rejected:4001`).
 */
export type TransitionReason =
  | 'join'
  | 'rejoin'
  | 'join-acked'
  | `join-rejected:${number}`
  | 'join-timeout'
  | 'leave'
  | `socket-lost:${number}`
  | `server-closed:${number}`
  | `protocol-close:${number}`
  | 'no-pong'
  | 'offline'
  | `forgotten:${number}`
  | 'server-error'
  | 'kicked';

export interface StateChange {
  from: RoomState;
  to: RoomState;
  reason: TransitionReason;
}
