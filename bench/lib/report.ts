/** Tables on stdout and `bench/results/<scenario>.json`. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export type Cell = string | number | null | undefined;

export interface Column {
  readonly key: string;
  readonly title: string;
  /** Decimal places for numbers (default 2). */
  readonly digits?: number;
}

/** A plain-text table: numbers right-aligned, thousands separated. */
export function formatTable(columns: readonly Column[], rows: readonly Record<string, Cell>[]): string {
  const text = (column: Column, value: Cell): string => {
    if (value === null || value === undefined) return '-';
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return String(value);
      return value.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: column.digits ?? 2 });
    }
    return value;
  };
  const cells = rows.map((row) => columns.map((c) => text(c, row[c.key])));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  const numeric = columns.map((c) => rows.some((r) => typeof r[c.key] === 'number'));
  const line = (values: readonly string[]): string =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export type Status = 'PASS' | 'FAIL' | 'INFO';

export interface TargetCheck {
  readonly target: string;
  /** What was measured, in words (e.g. "restore / floor at 100k = 2.31x"). */
  readonly measured: string;
  readonly value: number | null;
  readonly limit: number | null;
  readonly status: Status;
}

export function check(target: string, measured: string, value: number | null, limit: number, pass: (v: number, limit: number) => boolean): TargetCheck {
  const status: Status = value === null || !Number.isFinite(value) ? 'INFO' : pass(value, limit) ? 'PASS' : 'FAIL';
  return { target, measured, value, limit, status };
}

export function formatChecks(checks: readonly TargetCheck[]): string {
  if (checks.length === 0) return '';
  const width = Math.max(...checks.map((c) => c.target.length));
  return checks.map((c) => `${c.status.padEnd(4)}  ${c.target.padEnd(width)}  ${c.measured}`).join('\n');
}

export function environment(): Record<string, unknown> {
  let xstate = 'unknown';
  try {
    xstate = (JSON.parse(readFileSync(join(BENCH_DIR, '..', 'node_modules', 'xstate', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // reported as unknown
  }
  return {
    node: process.version,
    xstate,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Writes `bench/results/<scenario>.json` atomically (temp file + rename). */
export function writeResults(scenario: string, contents: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${scenario}.json`);
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ scenario, generatedAt: new Date().toISOString(), environment: environment(), ...contents }, null, 2)}\n`);
  renameSync(temp, file);
  return file;
}
