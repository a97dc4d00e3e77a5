import assert from 'node:assert/strict';
import type { MobzRoomClient, MobzRoomClientEvents, RoomState, SessionInfo, StateChange } from '../../sdk/mobz/index.ts';
import { waitFor, withTimeout } from './waiting.ts';

let counter = 0;

/** A name no other test (or earlier run against the same Redis) uses. */
export function freshId(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
}

export function freshSession(label: string): SessionInfo {
  return { userId: freshId(`${label}-user`), sessionId: freshId(`${label}-session`), host: 'Server', category: 'stream' };
}

/** Everything a client emits for `event`, in order, from now on. */
export function record<K extends keyof MobzRoomClientEvents>(client: MobzRoomClient, event: K): Array<MobzRoomClientEvents[K]> {
  const seen: Array<MobzRoomClientEvents[K]> = [];
  client.on(event, (...args) => seen.push(args));
  return seen;
}

/** The client's state changes, from now on. */
export function recordStates(client: MobzRoomClient): StateChange[] {
  const seen: StateChange[] = [];
  client.on('state', (change) => seen.push(change));
  return seen;
}

/** Waits until `states` holds a change to `to` (after index `since`); returns it. */
export async function reached(states: StateChange[], to: RoomState, since = 0, timeoutMs = 15_000): Promise<StateChange> {
  await waitFor(`state '${to}' (seen: ${describe(states)})`, () => states.slice(since).some((change) => change.to === to), timeoutMs);
  return states.slice(since).find((change) => change.to === to)!;
}

/** The next `event` for which `predicate` holds. */
export function nextEvent<K extends keyof MobzRoomClientEvents>(
  client: MobzRoomClient,
  event: K,
  predicate: (...args: MobzRoomClientEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<MobzRoomClientEvents[K]> {
  let off: () => void = () => {};
  const next = new Promise<MobzRoomClientEvents[K]>((resolve) => {
    off = client.on(event, (...args) => {
      if (!predicate(...args)) return;
      off();
      resolve(args);
    });
  });
  return withTimeout(next, `event '${String(event)}'`, timeoutMs).finally(off);
}

export function describe(states: readonly StateChange[]): string {
  return states.map((change) => `${change.from}→${change.to}(${change.reason})`).join(', ') || 'none';
}

/** The path of states a client went through, e.g. ['idle', 'initializing', 'joined']. */
export function path(states: readonly StateChange[]): string[] {
  if (states.length === 0) return [];
  return [states[0]!.from, ...states.map((change) => change.to)];
}

export function assertPath(states: readonly StateChange[], expected: RoomState[], message?: string): void {
  assert.deepEqual(path(states), expected, message ?? `state path: ${describe(states)}`);
}
