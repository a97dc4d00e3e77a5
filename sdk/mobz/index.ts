/**
 * Switchboard's mobz SDK, browser entry: MobzRoomClient on the standard WebSocket (the
 * global one, or `options.WebSocket`). Standard WebSockets cannot split a message into
 * frames, so messages over the frame limit are refused (MobzMessageTooLargeError); the
 * Node entry (`node.ts`) splits them instead. No Node imports here or below.
 */
export { MobzRoomClient, type MobzRoomClientEvents, type PublisherSource } from './room-client.ts';
export type { MobzRoomClientOptions, NetworkEvents } from './options.ts';
export { MobzJoinError, MobzMessageTooLargeError, MobzStateError } from './errors.ts';
export { canTransition, TRANSITIONS, type RoomState, type StateChange, type TransitionReason } from './states.ts';
export { endpointUrl, type FragmentingWebSocket, type MobzWebSocket, type MobzWebSocketConstructor } from './socket.ts';
export * from './messages.ts';
