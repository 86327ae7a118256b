import type { ShapeRecord } from '../registry/shape-record.ts';
import { columnNames } from '../shapes/definition.ts';
import type { LogEntry } from '../storage/storage.ts';
import type { ColumnTypesOf, TableColumnTypes } from '../shapes/column-types.ts';
import { consumerSystemId, materializerSystemId, type ActorDirectory } from './actor-directory.ts';
import type { MaterializerRef } from './materializer.actor.ts';

export interface SpawnOptions {
  readonly keyColumnsOf: (table: string) => readonly string[];
  /** The tables' column types (none: values are judged by their JSON type). */
  readonly columnTypesOf?: ColumnTypesOf;
  /** Position the shapes' logs are at: a transaction at or below it is not applied again. */
  readonly lastXid: number;
  /** Shapes that need a materializer, with the log it is rebuilt from. */
  readonly materializerLogs: ReadonlyMap<string, readonly LogEntry[]>;
  readonly onSpawned?: (done: number, total: number) => void;
}

/**
 * Spawns consumers and materializers for `records`, which must come
 * dependencies first: the directory refuses a consumer whose dependencies'
 * materializers are not running. Returns the systemIds in spawn order.
 */
export function spawnShapes(directory: ActorDirectory, records: readonly ShapeRecord[], options: SpawnOptions): string[] {
  const order: string[] = [];
  let done = 0;
  for (const record of records) {
    const { handle, dependencyHandles } = record.stored;
    const dependencies: MaterializerRef[] = dependencyHandles.map((dep) => {
      const ref = directory.materializer(dep);
      if (!ref) throw new Error(`shape ${handle}: dependency ${dep} has no running materializer`);
      return ref;
    });
    const { definition, where } = record.shape;
    const types = options.columnTypesOf?.(definition.table);
    directory.spawnConsumer(
      {
        handle,
        ...(where ? { where } : {}),
        ...(definition.columns ? { columns: columnNames(definition)! } : {}),
        keyColumns: options.keyColumnsOf(definition.table),
        ...(types ? { columnTypes: types } : {}),
        replica: definition.replica,
        lastXid: options.lastXid,
      },
      dependencies,
    );
    order.push(consumerSystemId(handle));
    const log = options.materializerLogs.get(handle);
    if (log) {
      directory.spawnMaterializer({ handle, columns: columnNames(definition) ?? [], ...(types ? { types } : {}), log });
      order.push(materializerSystemId(handle));
    }
    if (++done % 1000 === 0) options.onSpawned?.(done, records.length);
  }
  options.onSpawned?.(done, records.length);
  return order;
}

/** Spawns a materializer for an already running shape that just gained its first dependent. */
export function spawnMaterializerFor(directory: ActorDirectory, record: ShapeRecord, log: readonly LogEntry[], types: TableColumnTypes | undefined): string {
  directory.spawnMaterializer({ handle: record.stored.handle, columns: columnNames(record.shape.definition) ?? [], ...(types ? { types } : {}), log });
  return materializerSystemId(record.stored.handle);
}

