// IPC messages between bench/run.ts (orchestrator) and bench/load-generator.ts.

import type { Percentiles } from './percentiles.ts';
import type { Protocol } from './protocols.ts';

export interface TargetRef {
  protocol: Protocol;
  host: string;
  port: number;
  /** pid of the server process, whose CPU time the load generator samples from /proc. */
  serverPid: number;
}

export type ToLoadGen =
  | { type: 'setup'; target: TargetRef; pairs: number; timeoutMs: number; batch: boolean }
  | { type: 'throughput'; window: number; warmupMs: number; durationMs: number }
  | { type: 'fixed'; rate: number; warmupMs: number; durationMs: number }
  | {
      type: 'idle-open';
      target: TargetRef;
      idPrefix: string;
      start: number;
      count: number;
      localAddresses: string[];
      concurrency: number;
      timeoutMs: number;
    }
  | { type: 'idle-status' }
  | { type: 'close' };

export interface PhaseResult {
  phase: 'throughput' | 'fixed';
  /** measured window, seconds */
  durationS: number;
  /** offered load (fixed phase only), messages/s */
  offeredRate: number | null;
  /** window size per direction (throughput phase only) */
  window: number | null;
  sent: number;
  sentRate: number;
  delivered: number;
  deliveredRate: number;
  latencyMs: Percentiles;
  serverCpuCores: number;
  serverCpuUsPerMsg: number;
  /** The kernel-mode part of serverCpuUsPerMsg (the rest is user mode). */
  serverSysUsPerMsg: number;
  loadGenCpuCores: number;
  loadGenElu: number;
  loadGenEventLoopDelayP99Ms: number;
  /** lateness of the open-loop pacer against its schedule (fixed phase only) */
  pacerLagMs: Percentiles | null;
  /** sends skipped because the socket's write backlog was full or the pacer fell behind */
  skipped: number;
  /** sent but never delivered after the drain period */
  lost: number;
  outOfOrder: number;
  badFrames: number;
  badSample: string | null;
  closedConnections: number;
  closeSample: string | null;
  warnings: Warning[];
}

/** kind groups the same condition across rounds; text is for humans. */
export interface Warning {
  kind: string;
  text: string;
}

export type FromLoadGen =
  | { type: 'ready' }
  | { type: 'setup-done'; ms: number }
  | { type: 'phase-done'; result: PhaseResult }
  | { type: 'idle-opened'; connected: number; failed: number; ms: number; firstError: string | null }
  | { type: 'idle-status'; open: number; closed: number; closeSample: string | null; framesAfterSetup: number }
  | { type: 'error'; message: string };
