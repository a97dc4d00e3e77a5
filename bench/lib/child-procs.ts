// Child processes of a bench run: Node started with the orchestrator's binary, optionally
// pinned to one CPU, killed when the orchestrator exits; servers waited on until an HTTP
// readiness path answers 200; load generators driven by request/reply over IPC.
// (bench/run.ts has its own copies of these for the relay and idle benches.)

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoopReply } from '../targets/loop-probe.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST = '127.0.0.1';
const PARENT_GUARD = pathToFileURL(path.join(ROOT, 'bench/targets/parent-guard.ts')).href;
const LOOP_PROBE = pathToFileURL(path.join(ROOT, 'bench/targets/loop-probe.ts')).href;

const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/** taskset execs node: same pid, all threads pinned. */
export function spawnNode(args: string[], cpu: number | null, stdio: StdioOptions): ChildProcess {
  const child = cpu === null ? spawn(process.execPath, args, { cwd: ROOT, stdio }) : spawn('/usr/bin/taskset', ['-c', String(cpu), process.execPath, ...args], { cwd: ROOT, stdio });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(port: number, p: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: p, timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * A server under test: `node --import parent-guard.ts --import loop-probe.ts <script>
 * <args(port)>`, with an IPC channel for the probe.
 */
export class ServerChild {
  readonly port: number;
  readonly child: ChildProcess;
  readonly tail: string[] = [];
  exit: string | null = null;
  private loopWaiter: ((m: LoopReply) => void) | null = null;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.child = child;
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.tail.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
        if (this.tail.length > 30) this.tail.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => {
      this.exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
    });
    child.on('message', (m) => {
      const w = this.loopWaiter;
      if (w && (m as { type?: unknown } | null)?.type === 'loop') {
        this.loopWaiter = null;
        w(m as LoopReply);
      }
    });
  }

  static async start(script: string, args: (port: number) => string[], readyPath: string, cpu: number | null): Promise<ServerChild> {
    const port = await freePort();
    const argv = ['--import', PARENT_GUARD, '--import', LOOP_PROBE, path.join(ROOT, script), ...args(port)];
    const s = new ServerChild(port, spawnNode(argv, cpu, ['ignore', 'pipe', 'pipe', 'ipc']));
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (s.exit) throw new Error(`${script} ${s.exit} before it was ready:\n${s.tailText()}`);
      if ((await httpStatus(port, readyPath)) === 200) return s;
      await sleep(100);
    }
    throw new Error(`${script} not ready (GET ${readyPath} ≠ 200) after 30 s:\n${s.tailText()}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts the event-loop probe's window. */
  loopStart(): void {
    if (!this.exit && this.child.connected) this.child.send({ type: 'loop', op: 'start' });
  }

  /** Ends it: the server's event-loop delay, utilization and GC pauses since loopStart(); null if the probe did not answer. */
  loopStop(timeoutMs = 5000): Promise<LoopReply | null> {
    return new Promise((resolve) => {
      if (this.exit || !this.child.connected) return resolve(null);
      const timer = setTimeout(() => {
        this.loopWaiter = null;
        resolve(null);
      }, timeoutMs);
      this.loopWaiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.child.send({ type: 'loop', op: 'stop' });
    });
  }

  tailText(): string {
    return this.tail.map((l) => `    | ${l}`).join('\n');
  }

  async stop(): Promise<void> {
    if (this.exit) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => 'ok'), sleep(5000).then(() => 'timeout')])) === 'timeout' && !this.exit) {
      this.child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
  }
}

type Typed = { type: string };

/**
 * A load generator: one request in flight at a time, answered by a message of the
 * expected type; `{type:'error', message}` rejects. It announces itself with `ready`.
 */
export class IpcChild<To extends Typed, From extends Typed> {
  readonly child: ChildProcess;
  private waiter: { expect: string; resolve: (m: From) => void; reject: (e: Error) => void } | null = null;
  private exitText: string | null = null;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (raw) => {
      const m = raw as From & { message?: string };
      const w = this.waiter;
      if (!w) return;
      if (m.type === 'error') {
        this.waiter = null;
        w.reject(new Error(`load generator: ${m.message}`));
      } else if (m.type === w.expect) {
        this.waiter = null;
        w.resolve(m);
      }
    });
    child.on('exit', (code, signal) => {
      this.exitText = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const w = this.waiter;
      this.waiter = null;
      w?.reject(new Error(`load generator ${this.exitText}`));
    });
  }

  static async start<To extends Typed, From extends Typed>(script: string, cpu: number | null): Promise<IpcChild<To, From>> {
    const c = new IpcChild<To, From>(spawnNode([path.join(ROOT, script)], cpu, ['ignore', 'inherit', 'inherit', 'ipc']));
    await c.wait('ready', 20_000);
    return c;
  }

  private wait<T extends From['type']>(expect: T, timeoutMs: number): Promise<Extract<From, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.exitText) return reject(new Error(`load generator ${this.exitText}`));
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`load generator: no '${expect}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        expect,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<From, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  request<T extends From['type']>(msg: To, expect: T, timeoutMs: number): Promise<Extract<From, { type: T }>> {
    const p = this.wait(expect, timeoutMs);
    this.child.send(msg);
    return p;
  }

  async close(closeMsg: To): Promise<void> {
    if (this.exitText) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      this.child.send(closeMsg);
    } catch {
      // channel already gone
    }
    if ((await Promise.race([exited.then(() => 'ok'), sleep(3000).then(() => 'timeout')])) === 'timeout' && !this.exitText) {
      this.child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
  }
}

/** Busy-loop iterations of one process in `ms` (optionally pinned). */
function busyLoop(cpu: number | null, ms: number): Promise<number> {
  return new Promise((resolve) => {
    const code = `const e=performance.now()+${ms};let n=0;while(performance.now()<e)n++;process.stdout.write(String(n))`;
    const child = spawnNode(['-e', code], cpu, ['ignore', 'pipe', 'ignore']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => resolve(Number(out) || 0));
  });
}

/**
 * Work two busy processes (on CPUs 0 and 1) get done together, in units of one alone:
 * ≈ 2 on two real cores, ≈ 1 when the VM's two vCPUs share one physical core.
 */
export async function effectiveCores(pin: boolean): Promise<number> {
  const alone = await busyLoop(pin ? 0 : null, 1000);
  const [x, y] = await Promise.all([busyLoop(pin ? 0 : null, 1000), busyLoop(pin ? 1 : null, 1000)]);
  return alone > 0 ? (x + y) / alone : NaN;
}
