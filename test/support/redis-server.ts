import { createConnection } from 'node:net';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { findBinary, startDaemon } from './test-daemon.ts';

export { freePort } from './test-daemon.ts';

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Kills the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Listen on this port instead of a free one (e.g. to restart a server in place). */
  port?: number;
  /** Give up if the server does not answer PING within this many ms. Default 10 000. */
  timeoutMs?: number;
}

/** Sends PING on a fresh socket; true when the answer is +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * Starts a throwaway redis-server on 127.0.0.1 (no persistence, own temp dir) and resolves
 * once it answers PING. Always `stop()` it; a server left running is killed at exit.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = findBinary('redis-server', 'REDIS_SERVER_BIN', 'redis-server');
  const args = (port: number, dir: string): string[] => ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), '--dir', dir];
  const { port, stop } = await startDaemon({ name: 'redis-server', binary, args, answers: ping }, options.port, options.timeoutMs);
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}

export interface RedisForTests {
  /** The server's redis:// URL. */
  readonly url: string;
  /** A plain client, for looking at what the code under test wrote. */
  readonly admin: Redis;
}

/**
 * A redis-server and an admin client for the tests of the enclosing describe: started in
 * its `before`, stopped in its `after`. Read the fields inside tests, not at definition time.
 */
export function useRedisServer(): RedisForTests {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  before(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  after(async () => {
    await admin?.quit();
    await server?.stop();
  });
  return {
    get url() {
      if (!server) throw new Error('useRedisServer: the server starts in before(); read url inside a test');
      return server.url;
    },
    get admin() {
      if (!admin) throw new Error('useRedisServer: the server starts in before(); read admin inside a test');
      return admin;
    },
  };
}
