// Readings from /proc (Linux): a process's CPU time, RSS and open fds, and the CPU
// time of the whole machine.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck = 0;
/** Kernel clock ticks per second (USER_HZ) used by /proc/<pid>/stat. */
export function clockTicks(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * CPU time (user + system, all threads) consumed so far by a process, in µs, from
 * /proc/<pid>/stat. Resolution is one clock tick (10 ms at USER_HZ=100). The same
 * method is used for every target, so the figures are comparable.
 */
export function procCpuUs(pid: number): number {
  const { user, system } = procCpuSplitUs(pid);
  return user + system;
}

/**
 * The same, split into user mode (JavaScript, V8, libuv) and kernel mode (syscalls, and
 * on loopback the TCP delivery to the peer socket that a write performs), in µs.
 */
export function procCpuSplitUs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after the "(comm)" field; comm may contain spaces or parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const perTick = 1e6 / clockTicks();
  return { user: Number(rest[11]) * perTick, system: Number(rest[12]) * perTick };
}

/** Number of open file descriptors of a process (Linux). */
export function procFdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

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
