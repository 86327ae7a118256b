import type { Pgoutput } from 'pg-logical-replication';
import type { TableInfo } from './catalog.ts';
import type { TableBaseline } from './state.ts';

/**
 * Whether a table's shapes survive a schema change, as Electric decides: a
 * dropped (or renamed) column, a changed type (or type modifier: a numeric's
 * scale changes how its values read), a changed key, or a table dropped and
 * re-created under the same name (new OID) remove every shape of the table.
 * An added column does not.
 *
 * Returns the reason for people, or null when the shapes can stay.
 */
export function schemaChange(baseline: TableBaseline, now: { oid: number; keyColumns: readonly string[] | null; columns: readonly { name: string; typeOid: number; typeMod: number }[] }): string | null {
  if (now.oid !== baseline.oid) return `table was dropped and re-created (OID ${baseline.oid} -> ${now.oid})`;
  for (const column of baseline.columns) {
    const current = now.columns.find((c) => c.name === column.name);
    if (!current) return `column ${column.name} was dropped (or renamed)`;
    if (current.typeOid !== column.typeOid || current.typeMod !== column.typeMod) {
      return `column ${column.name} changed type (type ${column.typeOid}/${column.typeMod} -> ${current.typeOid}/${current.typeMod})`;
    }
  }
  if (now.keyColumns && now.keyColumns.join('\u0000') !== baseline.keyColumns.join('\u0000')) {
    return `primary key changed (${baseline.keyColumns.join(', ')}) -> (${now.keyColumns.join(', ')})`;
  }
  return null;
}

/** A relation message as the schema it describes (key columns only when the replica identity names them). */
export function relationSchema(message: Pgoutput.MessageRelation): Parameters<typeof schemaChange>[1] {
  const keyed = message.replicaIdentity === 'default' || message.replicaIdentity === 'index';
  return {
    oid: message.relationOid,
    keyColumns: keyed ? message.keyColumns : null,
    columns: message.columns.map((c) => ({ name: c.name, typeOid: c.typeOid, typeMod: c.typeMod })),
  };
}

export function catalogSchema(info: TableInfo): Parameters<typeof schemaChange>[1] {
  return { oid: info.oid, keyColumns: info.keyColumns, columns: info.columns };
}

/** Columns were added since the baseline (they do not remove shapes; the table is read again). */
export function hasAddedColumns(baseline: TableBaseline, now: Parameters<typeof schemaChange>[1]): boolean {
  return now.columns.some((c) => !baseline.columns.some((b) => b.name === c.name));
}
