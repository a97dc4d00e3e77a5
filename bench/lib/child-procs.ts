// Child processes of a bench run: Node started with the orchestrator's binary, optionally
// pinned to one CPU, killed when the orchestrator exits; servers under test waited on
// until an HTTP readiness path answers 200, with an optional in-process probe; load
// generators driven by request/reply over IPC (their end: ./orchestrator-channel.ts).

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemReply } from '../targets/gc-probe.ts';
import type { LoopReply } from '../targets/loop-probe.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOST = '127.0.0.1';
const TASKSET = '/usr/bin/taskset';
const PARENT_GUARD = pathToFileURL(path.join(ROOT, 'bench/targets/parent-guard.ts')).href;
const GC_PROBE = pathToFileURL(path.join(ROOT, 'bench/targets/gc-probe.ts')).href;
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

/** Whether children can be pinned to CPUs 0 and 1: two CPUs and taskset. */
export function canPin(): boolean {
  return os.cpus().length >= 2 && existsSync(TASKSET);
}

/** Source addresses for a load generator's sockets: 127.0.0.2 … 127.0.0.(n+1). */
export function loopbackSources(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);
}

/** taskset execs node: same pid, all threads pinned. */
export function spawnNode(args: string[], cpu: number | null, stdio: StdioOptions): ChildProcess {
  const child = cpu === null ? spawn(process.execPath, args, { cwd: ROOT, stdio }) : spawn(TASKSET, ['-c', String(cpu), process.execPath, ...args], { cwd: ROOT, stdio });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Waits up to `graceMs` for `exited`; then SIGKILL (if `stillRunning()`) and up to 2 s more. */
async function endOrKill(child: ChildProcess, exited: Promise<void>, graceMs: number, stillRunning: () => boolean): Promise<void> {
  if ((await Promise.race([exited.then(() => 'ok'), sleep(graceMs).then(() => 'timeout')])) === 'timeout' && stillRunning()) {
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
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
 * What is preloaded into a server besides parent-guard.ts, answering over an IPC channel:
 * 'gc' = `--expose-gc` + bench/targets/gc-probe.ts (memory after a full GC, mem());
 * 'loop' = bench/targets/loop-probe.ts (event-loop delay, utilization, GC pauses,
 * loopStart()/loopStop()); 'none' = nothing and no IPC channel.
 */
export type ServerProbe = 'none' | 'gc' | 'loop';

const PROBE_FLAGS: Record<ServerProbe, string[]> = {
  none: [],
  gc: ['--expose-gc', '--import', GC_PROBE],
  loop: ['--import', LOOP_PROBE],
};

export interface ServerSpec {
  /** names the server in error messages */
  name: string;
  /** relative to ROOT */
  script: string;
  args: (port: number) => string[];
  /** ready when GET of this path answers 200 */
  readyPath: string;
  cpu: number | null;
  probe: ServerProbe;
}

export type MemUsage = Omit<MemReply, 'type' | 'error'>;

/** A server under test: `node --import parent-guard.ts [probe] <script> <args(port)>` on a free port. */
export class ServerChild {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly tail: string[] = [];
  /** lines the server wrote to stdout and stderr */
  logLines = 0;
  exit: string | null = null;
  private probeWaiter: { type: string; resolve: (m: unknown) => void } | null = null;

  private constructor(name: string, port: number, child: ChildProcess) {
    this.name = name;
    this.port = port;
    this.child = child;
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        this.logLines++;
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
      const w = this.probeWaiter;
      if (w && (m as { type?: unknown } | null)?.type === w.type) {
        this.probeWaiter = null;
        w.resolve(m);
      }
    });
  }

  static async start(spec: ServerSpec): Promise<ServerChild> {
    const script = path.join(ROOT, spec.script);
    if (!existsSync(script)) throw new Error(`${spec.script} does not exist (yet)`);
    const port = await freePort();
    // BENCH_SERVER_NODE_ARGS: extra Node flags for every server under test, for profiling
    // (e.g. "--perf-basic-prof" so that `perf report` names JavaScript frames).
    const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const argv = [...extra, '--import', PARENT_GUARD, ...PROBE_FLAGS[spec.probe], script, ...spec.args(port)];
    const stdio: StdioOptions = spec.probe === 'none' ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'ipc'];
    const s = new ServerChild(spec.name, port, spawnNode(argv, spec.cpu, stdio));
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (s.exit) throw new Error(`${spec.name} ${s.exit} before it was ready:\n${s.tailText()}`);
      if ((await httpStatus(port, spec.readyPath)) === 200) return s;
      await sleep(100);
    }
    throw new Error(`${spec.name} not ready (GET ${spec.readyPath} ≠ 200) after 30 s:\n${s.tailText()}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Sends `msg` to the probe and waits for its answer of type `replyType`; null if none came. */
  private askProbe<T>(msg: object, replyType: string, timeoutMs: number): Promise<T | null> {
    return new Promise((resolve) => {
      if (this.exit || !this.child.connected) return resolve(null);
      const timer = setTimeout(() => {
        this.probeWaiter = null;
        resolve(null);
      }, timeoutMs);
      this.probeWaiter = {
        type: replyType,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      };
      this.child.send(msg);
    });
  }

  /** Memory after two full GCs (probe 'gc'). */
  async mem(timeoutMs = 30_000): Promise<MemUsage> {
    const m = await this.askProbe<MemReply>({ type: 'mem' }, 'mem', timeoutMs);
    if (m === null) throw new Error(`${this.name}: no answer from the gc probe`);
    if (m.error) throw new Error(`${this.name}: ${m.error}`);
    return m;
  }

  /** Starts the event-loop probe's window (probe 'loop'). */
  loopStart(): void {
    if (!this.exit && this.child.connected) this.child.send({ type: 'loop', op: 'start' });
  }

  /** Ends it: the server's event-loop delay, utilization and GC pauses since loopStart(); null if the probe did not answer. */
  loopStop(timeoutMs = 5000): Promise<LoopReply | null> {
    return this.askProbe<LoopReply>({ type: 'loop', op: 'stop' }, 'loop', timeoutMs);
  }

  tailText(): string {
    return this.tail.map((l) => `    | ${l}`).join('\n');
  }

  async stop(): Promise<void> {
    if (this.exit) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await endOrKill(this.child, exited, 5000, () => !this.exit);
  }
}

type Typed = { type: string };

/**
 * A load generator: one request in flight at a time, answered by a message of the
 * expected type; `{type:'error', message}` rejects. It announces itself with `ready`
 * and ends on `close` (bench/lib/orchestrator-channel.ts is its end of the channel).
 */
export class LoadGenChild<To extends Typed, From extends Typed> {
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

  /** `script` relative to ROOT. */
  static async start<To extends Typed, From extends Typed>(script: string, cpu: number | null = null): Promise<LoadGenChild<To, From>> {
    const c = new LoadGenChild<To, From>(spawnNode([path.join(ROOT, script)], cpu, ['ignore', 'inherit', 'inherit', 'ipc']));
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

  async close(): Promise<void> {
    if (this.exitText) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      this.child.send({ type: 'close' });
    } catch {
      // channel already gone
    }
    await endOrKill(this.child, exited, 3000, () => !this.exitText);
  }
}
