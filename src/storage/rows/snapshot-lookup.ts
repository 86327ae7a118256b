import type { ConstExpr, WhereExpr } from '../../shapes/where/ast.ts';
import { linkKey } from '../../shapes/where/link-key.ts';
import { parseBooleanText } from '../../shapes/where/values.ts';
import type { LinkValueSet, RowSelection } from './row-store.ts';

/** Rows whose `columns` tuple (linkKey-encoded) is one of `values`. */
export interface Lookup {
  readonly columns: readonly string[];
  readonly values: readonly string[];
}

/** How many rows a lookup would read (an index answers without reading them). */
export type LookupCount = (lookup: Lookup) => number;

/**
 * Index lookups whose rows include every row the where clause can match, or
 * null when no condition narrows it (every row is a candidate). Conditions that
 * narrow: `col = const`, `col IN (consts)`, `(cols) IN (SELECT ...)` (by the
 * subquery's current values), an AND with one such argument (the cheapest is
 * taken), an OR of them (their union). The caller still judges every row.
 *
 * A constant narrows only when equal values have equal link keys: numbers,
 * numeric text and other text do (`7`, `'7'`, `'7.0'` share a key: a wider
 * lookup, never a narrower one); booleans and text Postgres reads as a boolean
 * (`'t'`, `'yes'`) do not (a boolean row value equals `'t'`), so they scan.
 */
export function snapshotLookups(selection: RowSelection, count: LookupCount): Lookup[] | null {
  return selection.where ? lookupsOf(selection.where, selection.dependencies, count) : null;
}

function lookupsOf(expr: WhereExpr, dependencies: readonly LinkValueSet[], count: LookupCount): Lookup[] | null {
  switch (expr.kind) {
    case 'compare': {
      if (expr.op !== '=') return null;
      const [column, constant] = expr.left.kind === 'column' ? [expr.left, expr.right] : [expr.right, expr.left];
      if (column.kind !== 'column' || constant.kind !== 'const') return null;
      const value = constantKey(constant);
      return value === undefined ? null : [{ columns: [column.name], values: value === null ? [] : [value] }];
    }
    case 'inList': {
      if (expr.negated || expr.expr.kind !== 'column') return null;
      const values: string[] = [];
      for (const item of expr.list) {
        if (item.kind !== 'const') return null;
        const value = constantKey(item);
        if (value === undefined) return null;
        if (value !== null) values.push(value);
      }
      return [{ columns: [expr.expr.name], values }];
    }
    case 'sublink': {
      const values = dependencies[expr.dependency];
      return values ? [{ columns: expr.test.map((c) => c.name), values: [...values.values()] }] : null;
    }
    case 'and': {
      let best: { lookups: Lookup[]; rows: number } | null = null;
      for (const arg of expr.args) {
        const lookups = lookupsOf(arg, dependencies, count);
        if (!lookups) continue;
        const rows = lookups.reduce((n, l) => n + count(l), 0);
        if (!best || rows < best.rows) best = { lookups, rows };
      }
      return best?.lookups ?? null;
    }
    case 'or': {
      const all: Lookup[] = [];
      for (const arg of expr.args) {
        const lookups = lookupsOf(arg, dependencies, count);
        if (!lookups) return null;
        all.push(...lookups);
      }
      return all;
    }
    default:
      return null;
  }
}

/** The link key a constant's equal values have; null for NULL (nothing equals it); undefined when equal values need not share a key. */
function constantKey(constant: ConstExpr): string | null | undefined {
  const { value } = constant;
  if (value === null) return null;
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'string' && constant.numeric !== true && parseBooleanText(value) !== undefined) return undefined;
  return linkKey([value]);
}
