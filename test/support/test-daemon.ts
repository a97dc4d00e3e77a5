/**
 * Throwaway servers for tests (redis-server, turnserver): each on a free loopback port with
 * its own temporary directory, ready once it answers its own protocol, and killed when the
 * test process exits, however it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { delay } from './waiting.ts';

export interface DaemonSpec {
  /** The binary's name, for messages and the PATH lookup. */
  readonly name: string;
  readonly binary: string;
  args(port: number, dir: string): string[];
  /** One readiness probe; true once the server answers on `port`. */
  answers(port: number): Promise<boolean>;
}

export interface Daemon {
  readonly port: number;
  /** Everything it has written to stdout and stderr so far. */
  log(): string;
  /** Kills it and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/** The binary at `$envVar`, in the usual places or on PATH; else an error saying how to install it. */
export function findBinary(name: string, envVar: string, debianPackage: string): string {
  const candidates = [
    process.env[envVar],
    `/usr/bin/${name}`,
    `/usr/local/bin/${name}`,
    ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)),
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  throw new Error(`${name} is not installed, so the tests that need it cannot run. Install it with \`apt-get install ${debianPackage}\` (or set ${envVar} to its path).`);
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

/**
 * Starts `spec` on `port`, or on a free port: a free port can be taken by someone else
 * before the server binds it, so that is tried three times.
 */
export async function startDaemon(spec: DaemonSpec, port: number | undefined, timeoutMs = 10_000): Promise<Daemon> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (port === undefined ? 3 : 1); attempt++) {
    try {
      return await launch(spec, port ?? (await freePort()), timeoutMs);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
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

async function launch(spec: DaemonSpec, port: number, timeoutMs: number): Promise<Daemon> {
  installExitHooks();
  const dir = await mkdtemp(join(tmpdir(), `sb-${spec.name}-`));
  const child = spawn(spec.binary, spec.args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
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
        const ended = await Promise.race([exit.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 5_000)))]);
        clearTimeout(timer);
        if (!ended) {
          child.kill('SIGKILL');
          await exit;
        }
      }
      running.delete(child);
      await rm(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + timeoutMs;
  while (!(await spec.answers(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const why = spawnError ? spawnError.message : exited ? 'it exited' : `no answer after ${timeoutMs} ms`;
      throw new Error(`${spec.name} on port ${port} did not start (${why}):\n${output.slice(-4000)}`);
    }
    await delay(20);
  }
  // The answer came from our child, unless another server owns the port and ours is dying.
  if (exited) {
    await stop();
    throw new Error(`${spec.name} on port ${port} exited:\n${output.slice(-4000)}`);
  }
  return { port, log: () => output, stop };
}
