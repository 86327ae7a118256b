import { fromPromise } from 'xstate';
import { CountedLinkSet } from '../live/counted-link-set.ts';
import { resyncEntries } from '../live/shape-entries.ts';
import type { ShapeRegistry } from '../registry/shape-registry.ts';
import { mapConcurrently } from '../restore/map-concurrently.ts';
import { columnNames } from '../shapes/definition.ts';
import type { ShapeDefinition } from '../shapes/definition-key.ts';
import type { LogOffset } from '../shapes/log-offset.ts';
import type { Row } from '../shapes/where/evaluate.ts';
import { RowsUnavailableError, type KeyedRow, type LinkValueSet, type RowStore } from '../storage/rows/row-store.ts';
import type { LogEntry, ShapeStorage } from '../storage/storage.ts';
import type { RuntimeShapes } from './runtime-shapes.ts';

export interface ResyncShapesInput {
  readonly storage: ShapeStorage;
  /** Read here; an awake materializer is fed the entries (a sleeping shape's state is its log). */
  readonly shapes: RuntimeShapes;
  readonly rows: RowStore;
  /** The position the shapes are brought to: after every transaction before it, before any after. */
  readonly xid: number;
  /** The tables whose shapes (and every shape depending on them) are brought back in step. */
  readonly tables: readonly string[];
}

export interface ResyncShapesOutput {
  /** Every shape resynced, dependencies first. */
  readonly handles: readonly string[];
  readonly position: number;
  readonly appended: readonly { readonly handle: string; readonly last: LogOffset }[];
  /** Shapes whose materializer could not take the entries: they must be removed. */
  readonly failures: readonly { readonly handle: string; readonly detail: string }[];
}

/**
 * `running.resyncing`: brings the shapes of some tables back in step with
 * them (a database source read the tables again: it followed them from a new
 * point, or their rows changed without a change in the stream), and every
 * shape that depends on them: each, dependencies first, gets the entries that
 * turn what its log holds into the rows its where clause selects now (the row
 * store's snapshot at `xid`, with its dependencies' values as resynced). All
 * is read before anything is written: a read the row store cannot answer
 * refuses the request (RowsUnavailableError) and changes nothing. Then the
 * batch is journaled and written like a transaction at `xid`.
 */
export const resyncShapesActor = fromPromise<ResyncShapesOutput, ResyncShapesInput>(async ({ input }) => {
  await Promise.resolve();
  const { shapes, rows, xid } = input;
  const { registry } = shapes;
  if (xid <= rows.position) return { handles: [], position: rows.position, appended: [], failures: [] };
  // The rows are read as of `xid` (a position with no changes of its own: moving there first changes no row).
  const positionBefore = rows.position;
  rows.apply({ xid, changes: [] });
  const handles = closureOf(registry, input.tables);
  const entries = new Map<string, LogEntry[]>();
  const links = new Map<string, LinkValueSet>();
  for (const handle of handles) {
    const record = registry.get(handle)!;
    const { definition, where } = record.shape;
    const columns = columnNames(definition);
    const log = (await input.storage.readLog(handle)).entries;
    const dependencies = await Promise.all(
      record.dependencyHandles.map(async (dep) => links.get(dep) ?? shapes.linkValues(dep) ?? linkSetOf(registry.get(dep)!.shape.definition, rows, (await input.storage.readLog(dep)).entries)),
    );
    let candidates: KeyedRow[];
    try {
      candidates = [];
      for await (const row of rows.snapshot(definition.table, { ...(where ? { where } : {}), dependencies })) candidates.push(row);
    } catch (error) {
      throw new RowsUnavailableError(`resync of ${definition.table}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const columnTypes = rows.columnTypesOf(definition.table);
    const spec = { ...(where ? { where } : {}), ...(columns ? { columns } : {}), ...(columnTypes ? { columnTypes } : {}), keyColumns: rows.keyColumnsOf(definition.table), replica: definition.replica };
    const produced = resyncEntries(spec, xid, replay(log), candidates, (i) => dependencies[i]!);
    if (produced.length > 0) entries.set(handle, produced);
    if (registry.graph.dependentsOf(handle).size > 0) links.set(handle, linkSetOf(definition, rows, [...log, ...produced]));
  }

  if (entries.size > 0) await input.storage.prepareBatch({ position: positionBefore, transactions: [{ xid, changes: [] }], handles: [...entries.keys()] });
  const appended: { handle: string; last: LogOffset }[] = [];
  await mapConcurrently([...entries], 32, async ([handle, list]) => {
    await input.storage.appendLog(handle, list);
    appended.push({ handle, last: { tx: xid, op: list.length - 1 } });
  });
  await rows.flush();
  if (entries.size > 0) {
    await input.storage.commitBatch(xid);
    registry.noteAppended(appended);
  }

  const failures: { handle: string; detail: string }[] = [];
  for (const [handle, list] of entries) {
    if (!shapes.hasMaterializer(handle)) {
      // It sleeps: the where-clause index's copy of its values (if it holds one) is its log's now.
      const values = links.get(handle);
      if (values && registry.whereIndex.linkValuesOf(handle)) {
        registry.whereIndex.unseedLinks(handle);
        registry.whereIndex.seedLinks(handle, values.values());
      }
      continue;
    }
    const fed = shapes.deliverToMaterializer(handle, { type: 'SHAPE.ENTRIES_LOGGED', xid, entries: list });
    if (!fed.ok) failures.push({ handle, detail: fed.error instanceof Error ? fed.error.message : String(fed.error) });
    // The where-clause index follows the values, as it does for a transaction's moves.
    else registry.whereIndex.moveLinks(handle, fed.moves.movedIn, fed.moves.movedOut);
  }
  return { handles, position: xid, appended, failures };
});

/** The shapes of the tables and every shape depending on them, dependencies first. */
function closureOf(registry: ShapeRegistry, tables: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (handle: string): void => {
    if (found.has(handle)) return;
    found.add(handle);
    for (const dependent of registry.graph.dependentsOf(handle)) visit(dependent);
  };
  for (const table of tables) for (const handle of registry.handlesForTable(table)) visit(handle);
  return [...found].sort((a, b) => registry.graph.depthOf(a) - registry.graph.depthOf(b));
}

function replay(log: readonly LogEntry[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const entry of log) {
    if (entry.op === 'delete') rows.delete(entry.key);
    else rows.set(entry.key, entry.op === 'update' ? { ...rows.get(entry.key), ...entry.row } : entry.row);
  }
  return rows;
}

/** A shape's link values from its log, read in its table's column types. */
function linkSetOf(definition: ShapeDefinition, rows: RowStore, log: readonly LogEntry[]): CountedLinkSet {
  const values = new CountedLinkSet(columnNames(definition) ?? [], rows.columnTypesOf(definition.table));
  values.apply(log);
  return values;
}
