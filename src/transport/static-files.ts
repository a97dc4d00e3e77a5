import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { HttpHandler } from './http-router.ts';
import { pathOf } from './websocket-gateway.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** Serves files under `root` (directories → index.html); nothing outside it is reachable. */
export function staticFiles(root: string): HttpHandler {
  const base = resolve(root);
  return async (request, response) => {
    let relative: string;
    try {
      relative = decodeURIComponent(pathOf(request.url));
    } catch {
      response.writeHead(400).end();
      return;
    }
    let file = resolve(join(base, relative));
    if (file !== base && !file.startsWith(base + sep)) {
      response.writeHead(404).end();
      return;
    }
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': info.size,
    });
    if (request.method === 'HEAD') return void response.end();
    createReadStream(file).on('error', () => response.destroy()).pipe(response);
  };
}
