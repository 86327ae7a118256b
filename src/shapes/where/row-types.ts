import type { TableColumnTypes } from '../column-types.ts';
import { sqlTypeName, sqlTypeOf } from './sql-types.ts';
import { INVALID, readValue } from './sql-values.ts';

const INT_LIMITS: Readonly<Record<string, number>> = { int2: 32767, int4: 2147483647 };

/**
 * Why a row does not fit its table's declared column types (a value that is not one of its
 * column's type: `'abc'` or 1.5 in an int4 column), or null when it fits. Columns without a
 * declared type, and values of types the evaluator does not read (arrays, json, ...), are not
 * checked. (Where clauses read a value that does not fit as NULL.)
 */
export function rowTypeProblem(row: Readonly<Record<string, unknown>>, types: TableColumnTypes): string | null {
  for (const [column, value] of Object.entries(row)) {
    const declared = types[column];
    if (!declared || value === null || value === undefined) continue;
    const t = sqlTypeOf(declared);
    if (t.startsWith('unsupported:')) continue;
    const v = readValue(value, t);
    const limit = INT_LIMITS[t];
    if (v === INVALID || (limit !== undefined && typeof v === 'number' && Math.abs(v + 0.5) > limit + 0.5)) {
      return `column ${JSON.stringify(column)} holds ${JSON.stringify(value)}, not a value of type ${sqlTypeName(t)}`;
    }
  }
  return null;
}
