import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { nodeDurableFs } from '../../storage/fs-durable.ts';
import { dataDirLayout } from '../../storage/data-dir-layout.ts';
import type { ColumnInfo } from './catalog.ts';

export const SOURCE_STATE_FORMAT = 'shape-actors/postgres-source@1';

const columnSchema = z.strictObject({ name: z.string(), typeOid: z.number().int(), typeMod: z.number().int() });

const tableSchema = z.strictObject({
  oid: z.number().int(),
  keyColumns: z.array(z.string()).min(1),
  columns: z.array(columnSchema),
  /** Commit LSN of the transaction that brought the table's rows into the row store. */
  syncedAt: z.string(),
});

const stateSchema = z.strictObject({
  format: z.literal(SOURCE_STATE_FORMAT),
  slot: z.string(),
  publication: z.string(),
  database: z.string(),
  /**
   * Highest LSN confirmed to the slot past the runtime's position (a stretch
   * of the stream that held nothing to apply). With the runtime's position it
   * tells whether the slot moved on without us (then every table is synced again).
   */
  ackedThrough: z.string(),
  /** Tables whose rows the row store mirrors (synced, and followed since). */
  tables: z.record(z.string(), tableSchema),
});

export type SyncedTable = z.infer<typeof tableSchema>;
export type SourceState = z.infer<typeof stateSchema>;

export interface TableBaseline {
  readonly oid: number;
  readonly keyColumns: readonly string[];
  readonly columns: readonly ColumnInfo[];
}

/**
 * The source's own record in the data dir (`postgres/source.json`): which slot
 * and publication this data dir follows, and which tables the row store
 * mirrors (with the schema they were synced with, to recognise a change that
 * happened while the runtime was down). Written atomically.
 */
export class SourceStateFile {
  private constructor(
    readonly file: string,
    private state: SourceState,
  ) {}

  static async open(dir: string, defaults: { slot?: string; publication?: string; database: string }): Promise<{ file: SourceStateFile; created: boolean; problem: string | null }> {
    const file = SourceStateFile.path(dir);
    let text: string | null = null;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    let problem: string | null = null;
    if (text !== null) {
      try {
        const parsed = stateSchema.safeParse(JSON.parse(text));
        if (parsed.success) {
          const state = parsed.data;
          if (defaults.slot && defaults.slot !== state.slot) {
            problem = `the data dir followed slot ${state.slot}, now slot ${defaults.slot}: every table is synced again`;
          } else if (state.database !== defaults.database) {
            problem = `the data dir followed database ${state.database}, now ${defaults.database}: every table is synced again`;
          } else {
            return { file: new SourceStateFile(file, state), created: false, problem: null };
          }
        } else {
          problem = `${file} is not a source state (${parsed.error.issues[0]?.message}): every table is synced again`;
        }
      } catch {
        problem = `${file} is not JSON: every table is synced again`;
      }
    }
    const name = defaults.slot ?? `shape_actors_${randomBytes(5).toString('hex')}`;
    const state: SourceState = {
      format: SOURCE_STATE_FORMAT,
      slot: name,
      publication: defaults.publication ?? name,
      database: defaults.database,
      ackedThrough: '0/0',
      tables: {},
    };
    const created = new SourceStateFile(file, state);
    await created.save();
    return { file: created, created: true, problem };
  }

  get slot(): string {
    return this.state.slot;
  }

  get publication(): string {
    return this.state.publication;
  }

  get ackedThrough(): string {
    return this.state.ackedThrough;
  }

  synced(table: string): SyncedTable | undefined {
    return this.state.tables[table];
  }

  syncedTables(): string[] {
    return Object.keys(this.state.tables);
  }

  #writes: Promise<void> = Promise.resolve();

  /** The state file of a data dir, when it has one (it follows Postgres). */
  static path(dir: string): string {
    return join(dataDirLayout(dir).postgres, 'source.json');
  }

  /**
   * Forgets that a table was in step, without the database (a shape added while nothing
   * serves starts empty: the next start reads the table's shapes again). Nothing when the
   * file does not record it.
   */
  static async forgetTable(dir: string, table: string): Promise<void> {
    const file = SourceStateFile.path(dir);
    const parsed = stateSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success || !parsed.data.tables[table]) return;
    const { [table]: _gone, ...tables } = parsed.data.tables;
    await new SourceStateFile(file, { ...parsed.data, tables }).save();
  }

  /** Changes the state in memory at once; resolves once it is on disk (writes are serialized). */
  update(change: (state: SourceState) => SourceState): Promise<void> {
    this.state = change(this.state);
    const write = this.#writes.then(() => this.save());
    this.#writes = write.catch(() => undefined);
    return write;
  }

  private async save(): Promise<void> {
    await nodeDurableFs.mkdir(join(this.file, '..'));
    await nodeDurableFs.replaceFile(this.file, `${JSON.stringify(this.state, null, 2)}\n`);
  }
}
