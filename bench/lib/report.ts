// Output of the bench orchestrators: progress lines on stderr, numbers and tables for
// the report on stdout, and the results file .bench-results/<name>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './child-procs.ts';

export const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

export const fmt = (n: number | null | undefined, d = 2): string => (n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));
export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'));
/** B, KiB from 10 KiB, MiB from 10 MiB. */
export const fmtBytes = (n: number): string =>
  Math.abs(n) >= 10 * 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : Math.abs(n) >= 10_240 ? `${(n / 1024).toFixed(1)} KiB` : `${Math.round(n)} B`;
export const fmtMiB = (b: number): string => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)} MiB` : '—');
/** A share (0.25) as a percentage (25.0 %). */
export const fmtPct = (share: number): string => `${(share * 100).toFixed(1)} %`;

/** First column left-aligned, the others right-aligned, two spaces apart, a rule under the headers. */
export function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** Writes `data` as .bench-results/<name>.json; returns that path relative to the repo. */
export function writeResults(name: string, data: unknown): string {
  const dir = path.join(ROOT, '.bench-results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return path.relative(ROOT, file);
}
