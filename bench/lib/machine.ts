// The machine a bench runs on: what it is (for the results file) and how much CPU it
// really delivers when two processes are busy at once.

import os from 'node:os';
import { spawnNode } from './child-procs.ts';

export function machineInfo(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    node: process.version,
  };
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
 * ≈ 2 on two real cores, ≈ 1 when the VM's two vCPUs share one physical core, which
 * squeezes server and load generator together.
 */
export async function effectiveCores(pin: boolean): Promise<number> {
  const alone = await busyLoop(pin ? 0 : null, 1000);
  const [x, y] = await Promise.all([busyLoop(pin ? 0 : null, 1000), busyLoop(pin ? 1 : null, 1000)]);
  return alone > 0 ? (x + y) / alone : NaN;
}
