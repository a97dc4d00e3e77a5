/**
 * Switchboard's mobz SDK, Node entry: the same API as `index.ts`, on the `ws` package,
 * which can write one message as several frames, so messages up to the message limit
 * go out in frames of at most `maxFrameBytes`.
 */
import { WebSocket } from 'ws';
import type { MobzRoomClientOptions } from './options.ts';
import { MobzRoomClient as BrowserRoomClient } from './room-client.ts';

export * from './index.ts';

/**
 * `ws` with permessage-deflate off: the server's limits apply to payload bytes on the
 * wire, and the endpoint declines compression anyway.
 */
export class NodeWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { perMessageDeflate: false });
  }
}

/** MobzRoomClient defaulting to `ws` sockets and frame splitting. */
export class MobzRoomClient extends BrowserRoomClient {
  constructor(options: MobzRoomClientOptions) {
    super({ WebSocket: NodeWebSocket, fragmentFrames: options.WebSocket === undefined, ...options });
  }
}
