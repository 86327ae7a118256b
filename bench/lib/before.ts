/**
 * "Before" figures: a scenario's results from a run of the code before a change, kept in
 * `bench/results/<scenario>-before.json` (the same cases, the same run method), so a table can
 * show before and after side by side. Absent file: no before column.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR } from './report.ts';

export function beforeFile(scenario: string): string {
  return join(RESULTS_DIR, `${scenario}-before.json`);
}

/** The `rows` of a scenario's before file (empty when there is none). */
export function beforeRows<T>(scenario: string): readonly T[] {
  const file = beforeFile(scenario);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { rows?: T[] }).rows ?? [];
}
