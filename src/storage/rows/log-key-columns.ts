import type { Row } from '../../shapes/where/evaluate.ts';
import { rowKey } from './row-key.ts';

/** How many of a table's rows are checked against the key columns its index records. */
export const KEY_SAMPLE = 32;

/**
 * What a table's rows say of the key columns its index (`tables.json`, a plain JSON file with no
 * checksum) records for it: each row is stored under its key, so a sample of rows whose keys
 * are not their recorded key columns' values means the index is wrong (edited, or flipped on
 * disk). `agrees`; `keyed-by`: the only column list that gives every sampled key (the index can
 * be corrected); `unknown`: no column list does, or several do (the rows cannot be trusted).
 */
export type LogKeyColumns = { readonly status: 'agrees' } | { readonly status: 'keyed-by'; readonly columns: readonly string[] } | { readonly status: 'unknown' };

export function logKeyColumns(rows: ReadonlyMap<string, Row>, recorded: readonly string[]): LogKeyColumns {
  const sample: [string, Row][] = [];
  for (const entry of rows) {
    sample.push(entry);
    if (sample.length === KEY_SAMPLE) break;
  }
  const fits = (columns: readonly string[]) => sample.every(([key, row]) => rowKey(row, columns) === key);
  if (fits(recorded)) return { status: 'agrees' };
  const found = candidates(sample[0]!).filter(fits);
  return found.length === 1 ? { status: 'keyed-by', columns: found[0]! } : { status: 'unknown' };
}

/** Column lists whose values in `row` make `key` (each key value matched by the columns holding it), at most 64. */
function candidates([key, row]: [string, Row]): string[][] {
  let values: unknown;
  try {
    values = JSON.parse(key);
  } catch {
    return [];
  }
  if (!Array.isArray(values) || values.length === 0) return [];
  let lists: string[][] = [[]];
  for (const value of values) {
    const text = JSON.stringify(value);
    const columns = Object.keys(row).filter((c) => row[c] !== null && JSON.stringify(row[c]) === text);
    lists = lists.flatMap((list) => columns.filter((c) => !list.includes(c)).map((c) => [...list, c])).slice(0, 64);
    if (lists.length === 0) return [];
  }
  return lists;
}
