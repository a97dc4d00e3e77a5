import type { Channel, Engine, JoinOptions, SessionInfo } from './messages.ts';
import type { MobzWebSocketConstructor } from './socket.ts';

/** `online`/`offline` events: a browser's `window`. */
export interface NetworkEvents {
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}

export interface MobzRoomClientOptions {
  /** Server base (`wss://host`, `https://host`) or the endpoint URL itself. */
  url: string;
  /** Endpoint path appended to a base URL. Default `/mobz`. */
  path?: string;
  rid: string;
  ch: Channel;
  ss: SessionInfo;
  /** Video / audio enabled, as sent in the JOIN. Default true. */
  ve?: boolean;
  ae?: boolean;
  /** Default `native`. */
  eg?: Engine;
  /**
   * The JOIN's `op`. `roomCreating` is re-sent as is on every reconnect (the server treats
   * it as a re-bind). On `join()` after `leave()`, a creator whose room the others kept
   * gets 4022 for it; the client then joins that room as any member would.
   */
  op?: JoinOptions;
  /** Default: the global WebSocket. */
  WebSocket?: MobzWebSocketConstructor;
  /** The sockets implement `send(data, { fin })` (the `ws` package): split large messages into frames. Default false. */
  fragmentFrames?: boolean;
  /** The server's limits. Defaults 32768 and 131072. */
  maxFrameBytes?: number;
  maxMessageBytes?: number;
  /** Default 3000. */
  heartbeatIntervalMs?: number;
  /** While joined, a socket with no frame from the server for this long counts as a lost network. Default 3 heartbeats. */
  livenessTimeoutMs?: number;
  /** Default 1000. */
  checkdogIntervalMs?: number;
  /** No join ack this long after a JOIN: re-send it. Default 10000. */
  joinAckTimeoutMs?: number;
  /** JOIN tries (the first included) before `failed`. Default 3. */
  maxJoinAttempts?: number;
  /** A socket not open after this long is dropped and retried. Default 10000. */
  connectTimeoutMs?: number;
  /** First reconnect delay after a lost network, doubling up to `maxReconnectDelayMs`. Defaults 500 and 10000. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Source of `online`/`offline` events. Default: `globalThis` where it has them (browsers); null disables. */
  network?: NetworkEvents | null;
}

/** The options with every default filled in (and `ss` copied: the caller may reuse its object). */
export type ResolvedOptions = Required<Omit<MobzRoomClientOptions, 'WebSocket' | 'op' | 'network' | 'path'>>;

export function withDefaults(options: MobzRoomClientOptions): ResolvedOptions {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3000;
  return {
    url: options.url,
    rid: options.rid,
    ch: options.ch,
    ss: { ...options.ss },
    ve: options.ve ?? true,
    ae: options.ae ?? true,
    eg: options.eg ?? 'native',
    fragmentFrames: options.fragmentFrames ?? false,
    maxFrameBytes: options.maxFrameBytes ?? 32768,
    maxMessageBytes: options.maxMessageBytes ?? 131072,
    heartbeatIntervalMs,
    livenessTimeoutMs: options.livenessTimeoutMs ?? 3 * heartbeatIntervalMs,
    checkdogIntervalMs: options.checkdogIntervalMs ?? 1000,
    joinAckTimeoutMs: options.joinAckTimeoutMs ?? 10_000,
    maxJoinAttempts: options.maxJoinAttempts ?? 3,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    reconnectDelayMs: options.reconnectDelayMs ?? 500,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 10_000,
  };
}

/** Browsers' `window` (it has online/offline events); nothing in Node. */
export function browserNetworkEvents(): NetworkEvents | null {
  const candidate = globalThis as Partial<NetworkEvents> & { navigator?: { onLine?: unknown } };
  return typeof candidate.addEventListener === 'function' && typeof candidate.navigator?.onLine === 'boolean'
    ? (candidate as NetworkEvents)
    : null;
}
