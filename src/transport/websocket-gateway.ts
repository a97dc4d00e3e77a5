import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { WebSocketEndpoint } from './connection.ts';
import { WebSocketConnection, type ConnectionGroup } from './websocket-connection.ts';
import { CloseCode } from './websocket-frames.ts';
import { answerUpgrade } from './websocket-handshake.ts';

export interface GatewayLimits {
  allowedOrigins: readonly string[];
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxBufferedBytes: number;
}

/** Pings are spread over this many ticks per ping interval. */
const LIVENESS_SLICES = 16;

interface Route {
  endpoint: WebSocketEndpoint;
  connections: Set<WebSocketConnection>;
  group: ConnectionGroup;
  liveness: NodeJS.Timeout;
}

/** Routes HTTP upgrades by path to dialect endpoints, enforcing the transport's limits. */
export class WebSocketGateway {
  readonly #routes = new Map<string, Route>();
  readonly #perIp = new Map<string, number>();
  readonly #limits: GatewayLimits;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  #open = 0;
  #accepting = true;

  constructor(limits: GatewayLimits, metrics: Metrics, log: Logger) {
    this.#limits = limits;
    this.#metrics = metrics;
    this.#log = log;
  }

  get connectionCount(): number {
    return this.#open;
  }

  add(endpoint: WebSocketEndpoint): void {
    if (this.#routes.has(endpoint.path)) throw new Error(`two endpoints claim ${endpoint.path}`);
    const connections = new Set<WebSocketConnection>();
    // Each tick pings one slice of the sockets: pinging thousands in one loop stalls the
    // event loop for long enough to show in every other socket's latency.
    let tick = 0;
    const slices = Math.max(1, Math.min(LIVENESS_SLICES, Math.floor(endpoint.pingIntervalMs / 10)));
    const liveness = setInterval(() => this.#checkLiveness(endpoint, connections, tick++ % slices, slices), endpoint.pingIntervalMs / slices);
    liveness.unref();
    const group: ConnectionGroup = {
      dialect: endpoint.dialect,
      metrics: this.#metrics.dialect(endpoint.dialect),
      log: this.#log,
      maxBufferedBytes: this.#limits.maxBufferedBytes,
      maxMessageBytes: endpoint.maxMessageBytes,
      maxFrameBytes: endpoint.maxFrameBytes ?? Infinity,
      released: (connection) => {
        connections.delete(connection);
        group.metrics.connections--;
        this.#countIp(connection.remoteAddress, -1);
      },
    };
    this.#routes.set(endpoint.path, { endpoint, connections, group, liveness });
  }

  /** Attach to an http(s) server's 'upgrade' event. */
  handleUpgrade = (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    const path = pathOf(request.url);
    const route = this.#routes.get(path);
    if (!route) return refuse(socket, 404, 'Not Found');
    const metrics = this.#metrics.dialect(route.endpoint.dialect);
    const ip = request.socket.remoteAddress ?? 'unknown';
    const reject = (status: number, text: string, reason: string, headers?: Record<string, string>) => {
      metrics.reject(reason);
      refuse(socket, status, text, headers);
    };
    if (!this.#accepting) return reject(503, 'Service Unavailable: draining', 'draining');
    const origin = request.headers.origin;
    if (this.#limits.allowedOrigins.length > 0 && (!origin || !this.#limits.allowedOrigins.includes(origin))) {
      return reject(403, 'Forbidden: origin not allowed', 'origin');
    }
    if (this.#open >= this.#limits.maxConnections) return reject(503, 'Service Unavailable: maxConnections reached', 'maxConnections');
    if ((this.#perIp.get(ip) ?? 0) >= this.#limits.maxConnectionsPerIp) {
      return reject(429, 'Too Many Requests: maxConnectionsPerIp reached', 'maxConnectionsPerIp');
    }
    const verdict = answerUpgrade(request);
    if (!verdict.ok) return reject(verdict.status, verdict.text, 'handshake', verdict.headers);
    if (!socket.readable || !socket.writable) return void socket.destroy();
    socket.write(verdict.response);
    this.#adopt(route, socket, head, ip, request);
  };

  #adopt(route: Route, socket: Socket, head: Buffer, ip: string, request: IncomingMessage): void {
    this.#countIp(ip, +1);
    const connection = new WebSocketConnection(socket, ip, route.group);
    route.connections.add(connection);
    route.group.metrics.connections++;
    try {
      connection.handler = route.endpoint.accept(connection, request);
    } catch (error) {
      this.#log.error({ err: error, dialect: route.endpoint.dialect }, 'endpoint refused a connection');
      connection.terminate();
      return;
    }
    // Frames that came in the same read as the upgrade request.
    if (head.length > 0) connection.reader.feed(head);
    if (socket.isPaused()) socket.resume();
  }

  #countIp(ip: string, delta: number): void {
    this.#open += delta;
    const next = (this.#perIp.get(ip) ?? 0) + delta;
    if (next <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, next);
  }

  #checkLiveness(endpoint: WebSocketEndpoint, connections: Set<WebSocketConnection>, slice: number, slices: number): void {
    const deadline = performance.now() - endpoint.pongTimeoutMs;
    for (const connection of connections) {
      if (connection.id % slices !== slice) continue;
      if (connection.lastSeen < deadline) connection.terminate();
      else connection.ping();
    }
  }

  /** Draining: refuse new upgrades from now on. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Closes every socket with 1001 and resolves once all have closed or `timeoutMs` passed. */
  async closeAll(timeoutMs: number): Promise<void> {
    const all = [...this.#routes.values()].flatMap((route) => [...route.connections]);
    for (const connection of all) connection.close(CloseCode.goingAway, 'server shutting down');
    const deadline = Date.now() + timeoutMs;
    while (this.#open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const route of this.#routes.values()) {
      for (const connection of route.connections) connection.terminate();
      clearInterval(route.liveness);
    }
  }
}

function destroySocket(this: Socket): void {
  this.destroy();
}

export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

// An accepted socket gets its error listener from its WebSocketConnection; a refused one
// needs its own.
function refuse(socket: Socket, status: number, text: string, headers: Record<string, string> = {}): void {
  socket.on('error', destroySocket);
  if (!socket.writable) return void socket.destroy();
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}
