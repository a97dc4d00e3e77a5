/** Plumbing every dialect's SDK shares: where its endpoint is and what a server frame is. WHATWG only. */

/**
 * The part of the WHATWG WebSocket the SDKs use. The global `WebSocket` of browsers and
 * Node ≥ 22 fits, and so does the `ws` package's class, for callers that need its options
 * (TLS, proxies) injected as a constructor.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}

/**
 * The WebSocket URL of an endpoint. Accepts a server base (`ws://host:port`, with an
 * optional path prefix for servers behind a proxy) or the endpoint URL itself, and
 * http(s) URLs, so a browser page can pass `location.origin`.
 */
export function endpointUrl(base: string, path: string): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (!url.pathname.endsWith(path)) url.pathname = url.pathname.replace(/\/$/, '') + path;
  return url.toString();
}

/** A server frame: a JSON object. Anything else (binary data, bad JSON) is undefined: a protocol error. */
export function parseServerFrame(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
