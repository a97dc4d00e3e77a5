// /proc readings the mobz bench needs beyond bench/lib/stats.ts.

import { readFileSync } from 'node:fs';

/** Resident set size of a process (Linux `VmRSS`), bytes; NaN when it cannot be read. */
export function procRssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Clock ticks (USER_HZ) of all CPUs together, from the first line of /proc/stat. */
export interface CpuTicks {
  total: number;
  /** processes ran (user, nice, system): comparable with their utime + stime */
  busy: number;
  /** interrupts and softirqs, charged to no process; loopback TCP's receive side runs here */
  irq: number;
  /** the hypervisor ran someone else's vCPU: whatever was on this one stalled */
  steal: number;
}

export function cpuTicks(): CpuTicks {
  try {
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: user + nice + system + idle + iowait + irq + softirq + steal, busy: user + nice + system, irq: irq + softirq, steal };
  } catch {
    return { total: NaN, busy: NaN, irq: NaN, steal: NaN };
  }
}
