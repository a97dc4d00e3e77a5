/**
 * Every configuration option, once. The README table, the flag/env parser and the
 * validator all read this list, so an option cannot exist in one place and not another.
 *
 * Naming rule (DESIGN.md): key `mobz.keepaliveMs` ↔ env `SWITCHBOARD_MOBZ_KEEPALIVE_MS`
 * ↔ flag `--mobz.keepalive-ms`.
 */
export type OptionType = 'integer' | 'string' | 'boolean' | 'string[]' | 'ice-servers' | 'enum';

export interface OptionSpec {
  key: string;
  type: OptionType;
  default: unknown;
  description: string;
  min?: number;
  values?: readonly string[];
}

export const OPTIONS = [
  { key: 'port', type: 'integer', default: 8080, min: 0, description: 'TCP port of the one HTTP/WebSocket listener (0 = any free port).' },
  { key: 'host', type: 'string', default: '0.0.0.0', description: 'Address to listen on.' },
  { key: 'redisUrl', type: 'string', default: '', description: 'Redis URL; when set the node joins a cluster (Redis Bus and State). Empty = single node, memory backends.' },
  { key: 'nodeId', type: 'string', default: '', description: 'Name of this node in a cluster; empty = a random id.' },
  { key: 'logLevel', type: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'pino log level (JSON lines on stdout).' },
  { key: 'tls.cert', type: 'string', default: '', description: 'PEM certificate file; with `tls.key` the listener speaks HTTPS/WSS.' },
  { key: 'tls.key', type: 'string', default: '', description: 'PEM private key file.' },
  { key: 'allowedOrigins', type: 'string[]', default: [], description: 'WebSocket Origin allow-list; empty = any origin (cross-origin upgrades accepted).' },
  { key: 'maxConnections', type: 'integer', default: 100000, min: 1, description: 'Open WebSocket connections per node; further upgrades get HTTP 503.' },
  { key: 'maxConnectionsPerIp', type: 'integer', default: 20000, min: 1, description: 'Open WebSocket connections per remote address; further upgrades get HTTP 429.' },
  { key: 'maxBufferedBytes', type: 'integer', default: 4 * 1024 * 1024, min: 1024, description: 'Outgoing bytes a socket may have queued; a consumer that falls further behind is closed with 1008.' },
  { key: 'drainTimeoutMs', type: 'integer', default: 10000, min: 0, description: 'On SIGTERM: longest wait for sockets to close before exit.' },
  { key: 'nodeLeaseMs', type: 'integer', default: 5000, min: 100, description: 'Cluster lease each node keeps in State; survivors treat a node whose lease ran out as dead and take over what it owned.' },
  { key: 'iceServers', type: 'ice-servers', default: [{ urls: ['stun:stun.l.google.com:19302'] }], description: 'Static RTCIceServer entries (JSON array) given to every dialect, e.g. STUN.' },
  { key: 'turn.urls', type: 'string[]', default: [], description: 'TURN URLs that get minted REST credentials.' },
  { key: 'turn.secret', type: 'string', default: '', description: "coturn `static-auth-secret` for TURN REST credentials (username `<expiry>:<id>`, credential base64(HMAC-SHA1(secret, username)))." },
  { key: 'turn.ttlS', type: 'integer', default: 3600, min: 1, description: 'Lifetime of minted TURN credentials, seconds.' },
  { key: 'cuttlefish.enabled', type: 'boolean', default: true, description: 'Serve the cuttlefish dialect.' },
  { key: 'cuttlefish.maxMessageBytes', type: 'integer', default: 256 * 1024, min: 1024, description: 'Largest WebSocket message / HTTP body; larger ones close the socket with 1009 (HTTP 413).' },
  { key: 'cuttlefish.waitForDeviceMs', type: 'integer', default: 0, min: 0, description: 'Alternative flow: how long a client may wait for its device to register (0 = reply "Device not found" at once). A connect may ask for its own wait with `switchboard_wait_ms`, capped by `cuttlefish.maxWaitForDeviceMs`.' },
  { key: 'cuttlefish.maxWaitForDeviceMs', type: 'integer', default: 300000, min: 0, description: 'Upper bound on the wait a client may request with `switchboard_wait_ms`.' },
  { key: 'cuttlefish.staticDir', type: 'string', default: '', description: 'Directory served for unmatched GETs (host the Cuttlefish client page same-origin).' },
  { key: 'cuttlefish.pingIntervalMs', type: 'integer', default: 15000, min: 10, description: 'WebSocket ping interval.' },
  { key: 'cuttlefish.pongTimeoutMs', type: 'integer', default: 30000, min: 10, description: 'A socket with no pong (or any frame) for this long is closed and treated as a disconnect.' },
  { key: 'cuttlefish.pollQueueLimit', type: 'integer', default: 1000, min: 1, description: 'Device payloads queued per polling connection; later ones are dropped.' },
  { key: 'cuttlefish.pollIdleMs', type: 'integer', default: 60000, min: 10, description: 'A polling connection with no request for this long is disconnected.' },
  { key: 'cuttlefish.deviceLeaseMs', type: 'integer', default: 30000, min: 100, description: 'Cluster lease on a device id; a node that dies frees its devices within this window.' },
  { key: 'mobz.enabled', type: 'boolean', default: true, description: 'Serve the mobz dialect.' },
  { key: 'mobz.path', type: 'string', default: '/mobz', description: 'WebSocket path of the mobz endpoint.' },
  { key: 'mobz.keepaliveMs', type: 'integer', default: 240000, min: 10, description: 'A socket with no frame in either direction for this long gets a `KEEPALIVE` ack (below the common 10 min proxy idle timeout).' },
  { key: 'mobz.maxConnectionMs', type: 'integer', default: 0, min: 0, description: 'Close every connection with 1001 after this lifetime (0 = never), like API gateways do; the SDK reconnects.' },
  { key: 'mobz.heartbeatTimeoutMs', type: 'integer', default: 10000, min: 50, description: 'A member with no JOIN or HEARTBEAT for longer is offline: removed, and the room told.' },
  { key: 'mobz.maxFrameBytes', type: 'integer', default: 32768, min: 128, description: 'Largest WebSocket frame payload; a larger frame closes the socket with 1009.' },
  { key: 'mobz.maxMessageBytes', type: 'integer', default: 131072, min: 128, description: 'Largest WebSocket message (all frames of it); a larger one closes the socket with 1009.' },
  { key: 'mobz.resumeBufferSignals', type: 'integer', default: 256, min: 1, description: 'Signals kept for a member whose socket is gone, delivered when it re-joins; later ones are dropped.' },
  { key: 'mobz.pingIntervalMs', type: 'integer', default: 30000, min: 10, description: 'WebSocket ping interval.' },
  { key: 'mobz.pongTimeoutMs', type: 'integer', default: 60000, min: 10, description: 'A socket with no pong (or any frame) for this long is closed (its members stay until their heartbeat window ends).' },
] as const satisfies readonly OptionSpec[];
