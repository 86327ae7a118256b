import type { TableColumnTypes } from '../shapes/column-types.ts';
import { evaluateWhere, type LinkSet, type LinkValues, type Row } from '../shapes/where/evaluate.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { KeyedRow } from '../storage/rows/row-store.ts';

/** What decides which rows a shape holds and how they are logged. */
export interface ShapeSpec {
  readonly where?: WhereExpr;
  /** Selected columns (raw names); all when absent. Key columns are always kept. */
  readonly columns?: readonly string[];
  readonly keyColumns: readonly string[];
  readonly replica: 'default' | 'full';
  /** The table's column types (none: each value is judged by its JSON type). */
  readonly columnTypes?: TableColumnTypes;
}

/** One change to a row of the shape's table, with the row before and after. */
export interface RowChange {
  readonly key: string;
  /** After the change (null for a delete). */
  readonly row: Row | null;
  /** Before the change (null when the row did not exist). */
  readonly oldRow: Row | null;
}

export const NO_LINKS: LinkValues = () => EMPTY;
const EMPTY: LinkSet = { has: () => false, compatibleCount: () => 0 };

/**
 * The log entries one transaction produces for a shape: at most one per row.
 * A row's changes are taken together (its first old row, its last new row):
 * the old row is judged against the dependency link values before the
 * transaction (`before`), the new one against those after it (`after`), so
 * the shape ends as Postgres would select it after the transaction however
 * often the row changed in it. A row that moves into the shape is an insert,
 * out of it a delete, within it an update. `candidates` are unchanged rows
 * whose links moved.
 */
export function changeEntries(
  spec: ShapeSpec,
  xid: number,
  changes: readonly RowChange[],
  candidates: readonly KeyedRow[],
  links: { readonly before: LinkValues; readonly after: LinkValues },
): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const change of netChanges(changes)) {
    const was = matches(spec, change.oldRow, links.before);
    const is = matches(spec, change.row, links.after);
    if (is && !was) entries.push({ xid, op: 'insert', key: change.key, row: project(spec, change.row!) });
    else if (is && was) {
      const row = updatedRow(spec, change.oldRow!, change.row!);
      if (row) entries.push({ xid, op: 'update', key: change.key, row });
    } else if (was) entries.push({ xid, op: 'delete', key: change.key, row: keyOnly(spec, change.oldRow!) });
  }
  for (const candidate of candidates) {
    const was = matches(spec, candidate.row, links.before);
    const is = matches(spec, candidate.row, links.after);
    if (is && !was) entries.push({ xid, op: 'insert', key: candidate.key, row: project(spec, candidate.row) });
    else if (was && !is) entries.push({ xid, op: 'delete', key: candidate.key, row: keyOnly(spec, candidate.row) });
  }
  return entries;
}

/** The row is in the shape (no closure per call: this is on every delivery). */
function matches(spec: ShapeSpec, row: Row | null, values: LinkValues): boolean {
  return row !== null && (spec.where === undefined || evaluateWhere(spec.where, row, values, spec.columnTypes));
}

/** A transaction's entries marked with its Postgres transaction id (what a client's write returned as `pg_current_xact_id()`). */
export function withPgXid(entries: readonly LogEntry[], pgXid: number): LogEntry[] {
  return entries.map((e) => ({ xid: e.xid, pgXid, op: e.op, key: e.key, row: e.row }));
}

/**
 * One change per row, in order of first appearance: the row before the
 * transaction (its first change's old row) and after it (its last change's
 * new row). A row inserted and deleted again nets to nothing changed.
 */
export function netChanges(changes: readonly RowChange[]): readonly RowChange[] {
  if (changes.length === 1) return changes;
  const byKey = new Map<string, RowChange>();
  for (const change of changes) {
    const first = byKey.get(change.key);
    byKey.set(change.key, first ? { key: change.key, oldRow: first.oldRow, row: change.row } : change);
  }
  return [...byKey.values()];
}

/** A new shape's initial log: an insert for every current row that matches. */
export function snapshotEntries(spec: ShapeSpec, xid: number, rows: Iterable<KeyedRow>, links: LinkValues): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const { key, row } of rows) {
    if (spec.where === undefined || evaluateWhere(spec.where, row, links, spec.columnTypes)) entries.push({ xid, op: 'insert', key, row: project(spec, row) });
  }
  return entries;
}

/**
 * A shape brought back in step with its table (a resync): the entries that
 * turn what its log holds (`held`: the log replayed, key -> row) into the
 * rows that match now: an insert for a row it lacks, an update for a row that
 * differs in its columns, a delete for a row that no longer matches or exists.
 */
export function resyncEntries(spec: ShapeSpec, xid: number, held: ReadonlyMap<string, Row>, rows: Iterable<KeyedRow>, links: LinkValues): LogEntry[] {
  const entries: LogEntry[] = [];
  const matching = new Set<string>();
  const compare = { ...spec, replica: 'default' as const };
  for (const { key, row } of rows) {
    if (matching.has(key) || (spec.where !== undefined && !evaluateWhere(spec.where, row, links, spec.columnTypes))) continue;
    matching.add(key);
    const before = held.get(key);
    if (!before) entries.push({ xid, op: 'insert', key, row: project(spec, row) });
    else if (updatedRow(compare, before, row)) entries.push({ xid, op: 'update', key, row: updatedRow(spec, before, row)! });
  }
  for (const [key, row] of held) if (!matching.has(key)) entries.push({ xid, op: 'delete', key, row: keyOnly(spec, row) });
  return entries;
}

function project(spec: ShapeSpec, row: Row): Row {
  if (!spec.columns) return row;
  const out: Record<string, unknown> = {};
  for (const c of spec.keyColumns) out[c] = row[c];
  for (const c of spec.columns) out[c] = row[c];
  return out;
}

function keyOnly(spec: ShapeSpec, row: Row): Row {
  const out: Record<string, unknown> = {};
  for (const c of spec.keyColumns) out[c] = row[c];
  return out;
}

/**
 * An update entry: the whole projected row with replica `full`; otherwise the
 * key plus the selected columns that changed (null when none did).
 */
function updatedRow(spec: ShapeSpec, oldRow: Row, row: Row): Row | null {
  const projected = project(spec, row);
  if (spec.replica === 'full') return projected;
  const out: Record<string, unknown> = {};
  for (const c of spec.keyColumns) out[c] = row[c];
  let changed = false;
  for (const [c, v] of Object.entries(projected)) {
    if (spec.keyColumns.includes(c) || sameValue(oldRow[c], v)) continue;
    out[c] = v;
    changed = true;
  }
  // A column that disappeared from the row changed to NULL.
  for (const c of spec.columns ?? Object.keys(oldRow)) {
    if (!(c in projected) && oldRow[c] !== undefined && oldRow[c] !== null && !spec.keyColumns.includes(c)) {
      out[c] = null;
      changed = true;
    }
  }
  return changed ? out : null;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
