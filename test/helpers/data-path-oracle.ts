/**
 * The data-path oracle (as in test/property/data-path.property.test.ts), as
 * a helper: the tables as the acknowledged transactions leave them, and what
 * a direct evaluation of a shape's where clause over those tables says the
 * shape holds. A shape's log, replayed (insert/update/delete by key), must
 * give exactly those rows; a dependency shape's link values must be exactly
 * the selected-column tuples of those rows.
 */
import { CountedLinkSet } from '../../src/live/counted-link-set.ts';
import { columnNames, normalizeShape, type NormalizedShape, type ShapeDefinition } from '../../src/shapes/definition.ts';
import { evaluateWhere, type Row } from '../../src/shapes/where/evaluate.ts';
import { linkElements, tupleKey } from '../../src/shapes/where/link-key.ts';
import { linkSetOf, type TupleIndex } from '../../src/shapes/where/link-set.ts';
import type { LogEntry } from '../../src/storage/storage.ts';

export type Change = { readonly op: 'insert' | 'update' | 'delete'; readonly table: string; readonly row: Record<string, unknown> };
/** table -> key (`JSON.stringify([id])`) -> row. */
export type Tables = Map<string, Map<string, Row>>;

export function cloneTables(tables: Tables): Tables {
  return new Map([...tables].map(([name, rows]) => [name, new Map(rows)]));
}

/** Applies changes the way the row store does: insert replaces, update merges (an unknown row is upserted), delete removes. */
export function applyToTables(tables: Tables, changes: readonly Change[]): void {
  for (const c of changes) {
    const table = tables.get(c.table) ?? new Map<string, Row>();
    tables.set(c.table, table);
    const key = JSON.stringify([c.row.id]);
    if (c.op === 'delete') table.delete(key);
    else table.set(key, c.op === 'update' ? { ...table.get(key), ...c.row } : c.row);
  }
}

/** The rows `shape` holds over `tables`, by a direct evaluation (dependencies evaluated the same way, recursively). */
export function expectedRows(tables: Tables, shape: NormalizedShape): Map<string, Row> {
  const links = shape.dependencies.map((dep) => expectedLinkValues(tables, normalizeShape(dep)));
  const out = new Map<string, Row>();
  const columns = columnNames(shape.definition);
  for (const [key, row] of tables.get(shape.definition.table) ?? []) {
    if (shape.where && !evaluateWhere(shape.where, row, (i) => links[i]!)) continue;
    out.set(key, columns ? Object.fromEntries(['id', ...columns].map((c) => [c, row[c]])) : row);
  }
  return out;
}

/** The link values of a dependency shape over `tables` (tuples holding NULL included, as SQL sees them). */
export function expectedLinkValues(tables: Tables, shape: NormalizedShape): TupleIndex {
  const columns = columnNames(shape.definition) ?? [];
  return linkSetOf([...expectedRows(tables, shape).values()].map((row) => tupleKey(linkElements(columns.map((c) => row[c])))));
}

/** A log replayed: the rows it says the shape holds. */
export function replay(entries: readonly LogEntry[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const e of entries) {
    if (e.op === 'delete') rows.delete(e.key);
    else rows.set(e.key, e.op === 'update' ? { ...rows.get(e.key), ...e.row } : e.row);
  }
  return rows;
}

/** Link values computed from a log (what a materializer rebuilt from it would hold), sorted. */
export function logLinkValues(definition: ShapeDefinition, entries: readonly LogEntry[]): string[] {
  const set = new CountedLinkSet(columnNames(definition) ?? []);
  set.apply(entries);
  return set.values();
}

const canonical = (rows: Map<string, Row>): string =>
  JSON.stringify([...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, r]) => [k, Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))]));

/**
 * Checks one shape: its log replays to the direct evaluation; when `linkValues` is given (the
 * running materializer's, or computed from the log), they equal the expected link values.
 * Returns the problems found (empty: fine).
 */
export function checkShapeData(
  tables: Tables,
  handle: string,
  definition: ShapeDefinition,
  log: readonly LogEntry[],
  linkValues?: readonly string[],
): string[] {
  const problems: string[] = [];
  const shape = normalizeShape(definition);
  const want = expectedRows(tables, shape);
  const got = replay(log);
  if (canonical(got) !== canonical(want)) {
    problems.push(`${handle} (${definition.table} WHERE ${definition.where ?? 'true'}): log replays to ${canonical(got)}, direct evaluation gives ${canonical(want)}`);
  }
  if (linkValues !== undefined) {
    const expected = [...expectedLinkValues(tables, shape).keys()].sort();
    const actual = [...linkValues].sort();
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${handle}: link values ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
  return problems;
}
