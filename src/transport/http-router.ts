import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf } from './websocket-gateway.ts';

export type HttpHandler = (request: IncomingMessage, response: ServerResponse, params: Record<string, string>) => void | Promise<void>;

interface Route {
  method: string;
  segments: string[];
  handler: HttpHandler;
}

/**
 * Path routing for the one HTTP listener. A path known under another method answers 405
 * (the Cuttlefish polling endpoints are POST-only and real clients see that status).
 */
export class HttpRouter {
  readonly #routes: Route[] = [];
  #fallback: HttpHandler | undefined;

  route(method: string, pattern: string, handler: HttpHandler): void {
    this.#routes.push({ method, segments: pattern.split('/'), handler });
  }

  /** Handler for GETs no route matched (static files). */
  fallback(handler: HttpHandler): void {
    this.#fallback = handler;
  }

  handle = (request: IncomingMessage, response: ServerResponse): void => {
    const segments = pathOf(request.url).split('/');
    let pathKnown = false;
    for (const route of this.#routes) {
      const params = match(route.segments, segments);
      if (!params) continue;
      pathKnown = true;
      if (route.method !== request.method && !(route.method === 'GET' && request.method === 'HEAD')) continue;
      return this.#run(route.handler, request, response, params);
    }
    if (pathKnown) return sendJson(response, 405, { error: 'Method Not Allowed' });
    if (this.#fallback && (request.method === 'GET' || request.method === 'HEAD')) {
      return this.#run(this.#fallback, request, response, {});
    }
    sendJson(response, 404, { error: 'Not Found' });
  };

  #run(handler: HttpHandler, request: IncomingMessage, response: ServerResponse, params: Record<string, string>): void {
    const fail = (error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'Internal Server Error' });
      else response.destroy(error as Error);
    };
    try {
      const result = handler(request, response, params);
      if (result) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}

function match(pattern: string[], path: string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(path[i]!);
      } catch {
        return undefined;
      }
      if (value === '') return undefined;
      params[p.slice(1)] = value;
    } else if (p !== path[i]) return undefined;
  }
  return params;
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  sendJsonText(response, status, JSON.stringify(body));
}

export function sendJsonText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}

export class BodyTooLargeError extends Error {}

/** Reads a request body as UTF-8 text, refusing more than `maxBytes`. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (declared > maxBytes) {
      request.resume();
      return reject(new BodyTooLargeError(`request body over ${maxBytes} bytes`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(new BodyTooLargeError(`request body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
