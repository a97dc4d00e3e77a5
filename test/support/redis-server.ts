import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { delay } from './waiting.ts';

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

/** Servers still running; killed when the test process exits, however it exits. */
const running = new Set<ChildProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      process.off(signal, onSignal);
      // Keep the default "die by this signal" unless somebody else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function findRedisServer(): string {
  const candidates = [
    process.env['REDIS_SERVER_BIN'],
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
    ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'redis-server')),
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  throw new Error(
    'redis-server is not installed, so the Redis backend tests cannot run. ' +
      'Install it with `apt-get install redis-server` (or set REDIS_SERVER_BIN to its path).',
  );
}

/** A port the OS just handed out on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read the free port');
  return address.port;
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
  const binary = findRedisServer();
  const timeoutMs = options.timeoutMs ?? 10_000;
  // A free port can be taken by someone else before redis binds it: retry on a new one.
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(binary, port, timeoutMs);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function launch(binary: string, port: number, timeoutMs: number): Promise<RedisServer> {
  installExitHooks();
  const dir = await mkdtemp(join(tmpdir(), 'sb-redis-'));
  const child = spawn(
    binary,
    ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);

  let exited = false;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
  });
  child.once('error', (error) => {
    spawnError = error;
    exited = true;
    running.delete(child);
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = await Promise.race([
          exit.then(() => true),
          new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 5_000))),
        ]);
        clearTimeout(timer);
        if (!killed) {
          child.kill('SIGKILL');
          await exit;
        }
      }
      running.delete(child);
      await rm(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + timeoutMs;
  while (!(await ping(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const why = spawnError ? spawnError.message : exited ? 'it exited' : `no PONG after ${timeoutMs} ms`;
      throw new Error(`redis-server on port ${port} did not start (${why}):\n${output}`);
    }
    await delay(20);
  }
  // The PONG came from our child, unless another server owns the port and ours is dying.
  if (exited) {
    await stop();
    throw new Error(`redis-server on port ${port} exited:\n${output}`);
  }
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
