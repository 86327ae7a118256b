import type { Row } from '../../shapes/where/evaluate.ts';

/**
 * A row's identity: its primary key values, canonically encoded. NULL or
 * missing key values are refused (null returned): such a row cannot be
 * tracked, so its change is rejected rather than guessed at.
 */
export function rowKey(row: Row, keyColumns: readonly string[]): string | null {
  const values: unknown[] = [];
  for (const column of keyColumns) {
    const value = row[column];
    if (value === null || value === undefined) return null;
    values.push(value);
  }
  return JSON.stringify(values);
}
