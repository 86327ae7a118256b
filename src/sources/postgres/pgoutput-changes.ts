/**
 * pgoutput change messages as the runtime's changes: pure, no I/O.
 *
 * - An insert is an insert of its new row.
 * - An update is an update of its new row, with the old row when the stream
 *   carries it (`REPLICA IDENTITY FULL`: the whole old row, TOASTed values
 *   included, and the parser fills the new row's unchanged TOASTed columns
 *   from it). An update that changes the key is a delete of the old key and
 *   an insert of the new row.
 * - A delete is a delete of the old row (FULL) or of the key (default identity).
 *
 * Without an old row (default identity), an unchanged TOASTed column is
 * missing from the new row (`undefined`, dropped here); for a key change the
 * caller's `previous` lookup supplies the row as it was, so the inserted row is whole.
 */
import type { Pgoutput } from 'pg-logical-replication';
import { printTableName } from '../../shapes/identifiers.ts';
import type { Change } from '../../shapes/transaction.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { rowKey } from '../../storage/rows/row-key.ts';

export type ChangeMessage = Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete;

/** `public.items` for a relation message (printed once per relation object: every change names one). */
export function relationName(relation: { readonly schema: string; readonly name: string }): string {
  let name = RELATION_NAMES.get(relation);
  if (name === undefined) {
    name = printTableName({ schema: relation.schema, name: relation.name });
    RELATION_NAMES.set(relation, name);
  }
  return name;
}

const RELATION_NAMES = new WeakMap<object, string>();

/** The runtime's changes for one change message of `table` (see the module doc). */
export function changesOf(table: string, message: ChangeMessage, keyColumns: readonly string[], previous?: (key: string) => Row | undefined): Change[] {
  switch (message.tag) {
    case 'insert':
      return [{ op: 'insert', table, row: defined(message.new) }];
    case 'update': {
      const row = defined(message.new);
      const old = message.old ? defined(message.old) : null;
      const oldIdentity = old ?? (message.key ? defined(message.key) : null);
      const newKey = rowKey(row, keyColumns);
      const oldKey = oldIdentity ? rowKey(oldIdentity, keyColumns) : null;
      if (oldKey !== null && newKey !== null && oldKey !== newKey) {
        const before = old ?? previous?.(oldKey);
        return [
          { op: 'delete', table, row: old ?? oldIdentity!, ...(old ? { oldRow: old } : {}) },
          { op: 'insert', table, row: before ? { ...before, ...row } : row },
        ];
      }
      return [{ op: 'update', table, row, ...(old ? { oldRow: old } : {}) }];
    }
    case 'delete': {
      const old = message.old ? defined(message.old) : null;
      return [{ op: 'delete', table, row: old ?? defined(message.key ?? {}), ...(old ? { oldRow: old } : {}) }];
    }
  }
}

/** The row keys a change message touches (old and new key of an update), in that order, without repeats. */
export function keysOf(message: ChangeMessage, keyColumns: readonly string[]): string[] {
  const keys: string[] = [];
  const add = (row: Record<string, unknown> | null | undefined): void => {
    if (!row) return;
    const key = rowKey(row, keyColumns);
    if (key !== null && !keys.includes(key)) keys.push(key);
  };
  if (message.tag !== 'insert') {
    add(message.key);
    add(message.old);
  }
  if (message.tag !== 'delete') add(message.new);
  return keys;
}

/** A row without the columns the stream left undefined (an unchanged TOASTed value it did not send). */
export function defined(row: Record<string, unknown>): Row {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (v !== undefined) out[k] = v;
  return out;
}
