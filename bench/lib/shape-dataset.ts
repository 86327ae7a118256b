/**
 * Realistic shape sets for the restore and runtime scenarios, written the
 * fast way: StoredShapes built in memory (definitions from `normalizeShape`,
 * handles from `createHandle`), then written straight into the file store's
 * layout (`<dir>/shapes/<handle>/{definition.json,log.jsonl}`, the same
 * encoders the store uses, without its per-file fsyncs), or into a
 * MemoryStorage.
 *
 * The mix, on 100 tables `public.t0 .. public.t99` with columns id, k, g, c:
 * - 2% dependency shapes `g = <j>` selecting `c` (each has a materializer);
 * - 20% subquery shapes `k = <x> AND c IN (SELECT c FROM public.t<j%100> WHERE g = <j>)`;
 * - the rest plain shapes `k = <x>`;
 * so a row with a random `k` matches about one plain shape of its table.
 * Optionally a fan: one dependency (`g = 1000000` on public.t0) with `fan`
 * dependents, counted in `size`.
 * With `distinctWheres`, `k` numbers the plain and subquery shapes across all tables instead
 * of within each, so no two shapes share a where text (one shape per user: nothing for restore
 * to share between records).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definitionKey, normalizeShape } from '../../src/shapes/definition.ts';
import { createHandle } from '../../src/shapes/handle.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { parsedDefinitionOf } from '../../src/registry/shape-record.ts';
import { dataDirLayout, encodeDefinitionFile, FileStorage } from '../../src/storage/file-store.ts';
import { encodeMetadataLog } from '../../src/storage/metadata-codec.ts';
import { encodeLogEntries } from '../../src/storage/log-codec.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import type { LogEntry, ParsedDefinition, StoredShape } from '../../src/storage/storage.ts';
import { mapConcurrently } from '../../src/restore/map-concurrently.ts';
import { randomInt, rng } from './stats.ts';

export const TABLES = 100;
export const DEPENDENCY_SHARE = 0.02;
export const SUBQUERY_SHARE = 0.2;
const FAN_G = 1_000_000;
const BASE_MICROS = 1_765_808_264_000_000n;

export type ShapeKind = 'dependency' | 'subquery' | 'plain' | 'fan-root' | 'fan-dependent';

export interface DatasetShape {
  readonly kind: ShapeKind;
  readonly stored: StoredShape;
  /** Its where clause, parsed (what the metadata log keeps beside the definition). */
  readonly parsed: ParsedDefinition;
  readonly log: readonly LogEntry[];
  readonly table: string;
}

export interface Dataset {
  readonly size: number;
  /** Dependencies before their dependents. */
  readonly shapes: readonly DatasetShape[];
  readonly counts: Readonly<Record<ShapeKind, number>>;
  /** Handle of the fan's dependency (when the dataset has a fan). */
  readonly fanRoot: string | null;
  /** Shapes per table (for the transaction floor: deliveries per change). */
  readonly shapesPerTable: ReadonlyMap<string, number>;
  /** Shapes that others depend on (each gets a materializer). */
  readonly withMaterializer: number;
  /** Values of k a transaction's row can take (about one plain shape per table and value). */
  readonly kRange: number;
  /** Dependency shapes of the mix: shape j has `g = j` on table `public.t<j % 100>`. */
  readonly dependencyCount: number;
}

export interface DatasetOptions {
  readonly size: number;
  /** Dependents of one fan dependency (0: no fan). */
  readonly fan?: number;
  readonly seed?: number;
  /** Every where clause distinct (k unique per plain / subquery shape) instead of each plain and subquery where text repeated on the 100 tables. */
  readonly distinctWheres?: boolean;
}

function row(id: string, k: number, g: number, c: number): Record<string, unknown> {
  return { id, k, g, c };
}

function logEntry(id: string, k: number, g: number, c: number): LogEntry {
  return { xid: 1, op: 'insert', key: JSON.stringify([id]), row: row(id, k, g, c) };
}

export async function buildDataset(options: DatasetOptions): Promise<Dataset> {
  await loadSqlParser();
  const random = rng((options.seed ?? 1) * 104_729 + options.size);
  const fan = options.fan ?? 0;
  const rest = options.size - (fan > 0 ? fan + 1 : 0);
  if (rest < 0) throw new Error(`a fan of ${fan} does not fit in ${options.size} shapes`);
  const dependencies = rest > 0 ? Math.max(1, Math.round(rest * DEPENDENCY_SHARE)) : 0;
  const subqueries = dependencies > 0 ? Math.round(rest * SUBQUERY_SHARE) : 0;
  const plain = rest - dependencies - subqueries;
  const shapes: DatasetShape[] = [];
  const counts: Record<ShapeKind, number> = { dependency: 0, subquery: 0, plain: 0, 'fan-root': 0, 'fan-dependent': 0 };
  let created = 0;

  const add = (kind: ShapeKind, raw: Record<string, unknown>, dependencyHandles: readonly string[], expectDependencyKeys: readonly string[], log: LogEntry[]): DatasetShape => {
    const normalized = normalizeShape(raw);
    const depKeys = normalized.dependencies.map(definitionKey);
    if (depKeys.length !== expectDependencyKeys.length || depKeys.some((k, i) => k !== expectDependencyKeys[i])) {
      throw new Error(`dataset: the subquery of ${JSON.stringify(raw)} does not resolve to its dependency shape`);
    }
    const handle = createHandle(normalized.key, BASE_MICROS + BigInt(created++) * 10n);
    const shape: DatasetShape = {
      kind,
      stored: { handle, definition: normalized.definition, dependencyHandles: [...dependencyHandles], requested: kind !== 'dependency' && kind !== 'fan-root' },
      parsed: parsedDefinitionOf(normalized),
      log,
      table: normalized.definition.table,
    };
    shapes.push(shape);
    counts[kind]++;
    return shape;
  };

  // Dependencies first: dependency shapes (and the fan's), then the rest.
  const depShapes: { handle: string; key: string; table: number; g: number }[] = [];
  for (let j = 0; j < dependencies; j++) {
    const table = j % TABLES;
    const log = [0, 1, 2].map((x) => logEntry(`d${j}-${x}`, 0, j, (j * 3 + x) % 50));
    const s = add('dependency', { table: `public.t${table}`, where: `g = ${j}`, columns: ['c'] }, [], [], log);
    depShapes.push({ handle: s.stored.handle, key: normalizeShape(s.stored.definition).key, table, g: j });
  }
  let fanRoot: { handle: string; key: string } | null = null;
  if (fan > 0) {
    const log = [0, 1, 2].map((x) => logEntry(`fan-${x}`, 0, FAN_G, x));
    const s = add('fan-root', { table: 'public.t0', where: `g = ${FAN_G}`, columns: ['c'] }, [], [], log);
    fanRoot = { handle: s.stored.handle, key: normalizeShape(s.stored.definition).key };
    for (let f = 0; f < fan; f++) {
      const table = f % TABLES;
      const k = Math.floor(f / TABLES);
      add(
        'fan-dependent',
        { table: `public.t${table}`, where: `k = ${k} AND c IN (SELECT c FROM public.t0 WHERE g = ${FAN_G})` },
        [fanRoot.handle],
        [fanRoot.key],
        [logEntry(`f${f}`, k, 0, 1)],
      );
    }
  }
  for (let s = 0; s < subqueries; s++) {
    const table = s % TABLES;
    const k = options.distinctWheres ? s : Math.floor(s / TABLES);
    const dep = depShapes[randomInt(random, depShapes.length)]!;
    add(
      'subquery',
      { table: `public.t${table}`, where: `k = ${k} AND c IN (SELECT c FROM public.t${dep.table} WHERE g = ${dep.g})` },
      [dep.handle],
      [dep.key],
      [logEntry(`s${s}`, k, 0, (s * 7) % 50)],
    );
  }
  for (let p = 0; p < plain; p++) {
    const table = p % TABLES;
    const k = options.distinctWheres ? p : Math.floor(p / TABLES);
    add('plain', { table: `public.t${table}`, where: `k = ${k}` }, [], [], [logEntry(`p${p}`, k, 0, p % 50)]);
  }

  const shapesPerTable = new Map<string, number>();
  for (const s of shapes) shapesPerTable.set(s.table, (shapesPerTable.get(s.table) ?? 0) + 1);
  const depended = new Set(shapes.flatMap((s) => s.stored.dependencyHandles));
  return {
    size: shapes.length,
    shapes,
    counts,
    fanRoot: fanRoot?.handle ?? null,
    shapesPerTable,
    withMaterializer: depended.size,
    kRange: options.distinctWheres ? Math.max(1, plain, subqueries) : Math.max(1, Math.ceil(Math.max(plain, subqueries, fan) / TABLES)),
    dependencyCount: dependencies,
  };
}

/**
 * Writes the dataset into `dir` in the file store's layout (a directory per shape and the
 * metadata log that indexes them), and a backup naming every shape.
 */
export async function writeDataDir(dir: string, dataset: Dataset): Promise<void> {
  const shapesDir = join(dir, 'shapes');
  await mkdir(shapesDir, { recursive: true });
  await mapConcurrently(dataset.shapes, 64, async (shape) => {
    const shapeDir = join(shapesDir, shape.stored.handle);
    await mkdir(shapeDir);
    await writeFile(join(shapeDir, 'definition.json'), encodeDefinitionFile(shape.stored));
    await writeFile(join(shapeDir, 'log.jsonl'), encodeLogEntries(shape.log));
  });
  await writeFile(dataDirLayout(dir).metadata, encodeMetadataLog(dataset.shapes.map((s) => ({ shape: s.stored, parsed: s.parsed }))));
  await new FileStorage(dir).writeBackup({ shapes: dataset.shapes.map((s) => s.stored), position: null });
}

export async function memoryStorageOf(dataset: Dataset): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  for (const shape of dataset.shapes) await storage.createShape(shape.stored, shape.log, shape.parsed);
  return storage;
}
