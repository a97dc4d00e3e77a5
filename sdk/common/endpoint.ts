/** Plumbing every dialect's SDK shares: where its endpoint is and what a server frame is. WHATWG only. */

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
