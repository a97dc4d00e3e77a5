// IPC messages between bench/mobz.ts (orchestrator) and bench/mobz-load-generator.ts.

import type { Percentiles } from './percentiles.ts';

export interface MobzSetup {
  type: 'setup';
  host: string;
  port: number;
  /** pid of the server process, whose CPU time and RSS the load generator samples from /proc. */
  serverPid: number;
  rooms: number;
  members: number;
  hbIntervalMs: number;
  /** 0 = no signaling traffic */
  signalIntervalMs: number;
  /** length of the `sdp` string of OFFER/ANSWER (ICE candidates stay ~100 chars, as in browsers) */
  sdpChars: number;
  localAddresses: string[];
  timeoutMs: number;
}

export type ToMobzLoadGen = MobzSetup | { type: 'measure'; warmupMs: number; durationMs: number } | { type: 'close' };

export interface MobzSetupDone {
  type: 'setup-done';
  ms: number;
  sockets: number;
  joinAcks: number;
  /** error acks, closes or timeouts during setup; the first one in `firstError` */
  failures: number;
  firstError: string | null;
}

export interface MobzResult {
  durationS: number;
  heartbeatRate: number;
  signalRate: number;
  exchangeRate: number;
  hbAckMs: Percentiles;
  forwardMs: Percentiles;
  /** heartbeats sent in the window that got no ack by the end of the drain */
  hbUnackedInWindow: number;
  /** over the whole run (setup, warm-up, window) */
  hbSent: number;
  hbAcked: number;
  signalsSent: number;
  signalsDelivered: number;
  /** heartbeat and signal sends the pacer dropped because it fell more than 200 ms behind */
  skipped: number;
  joinAcks: number;
  publishListChanged: number;
  errorAcks: number;
  errorSample: string | null;
  /** frames of the wrong shape, duplicates, a wrong recipient, an ack for an unknown bid */
  badFrames: number;
  badSample: string | null;
  closed: number;
  closeSample: string | null;
  serverCpuShare: number;
  serverRssBytes: number;
  loadGenCpuShare: number;
  loadGenElu: number;
  /** event-loop delay of the load generator beyond its 2 ms sampling timer */
  loadGenLagMs: { p50: number; p99: number; max: number };
  /** how late the open-loop pacer sent against its schedule */
  pacerLagMs: Percentiles;
  /** share of all vCPUs' time in the window that the hypervisor gave to others (/proc/stat steal) */
  stealShare: number;
  /** CPU that other processes used in the window (all process time minus server and load generator), cores */
  otherCores: number;
  /** interrupt and softirq time of the machine (mostly this bench's loopback traffic), cores */
  irqCores: number;
}

export type FromMobzLoadGen = { type: 'ready' } | MobzSetupDone | { type: 'measured'; result: MobzResult } | { type: 'error'; message: string };
