/**
 * What the Postgres source's actors share: the connection, the stream, the
 * tables' follow states, the runtime once attached. Mutable by design (like
 * the runtime's registry): these are resources, not state to snapshot; the
 * statechart (source.machine.ts) decides when each actor runs.
 */
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import type { ShapeRuntime } from '../../runtime/index.ts';
import type { Catalog, ServerInfo } from './catalog.ts';
import { PostgresSourceError } from './errors.ts';
import type { FollowedTables } from './followed-tables.ts';
import type { ReaderHost, ReadStats } from './as-of-reader.ts';
import type { Replication } from './slot-and-publication.ts';
import type { SourceStateFile } from './state.ts';
import type { ReplicationStream } from './stream.ts';

export interface PostgresSourceOptions {
  readonly databaseUrl: string;
  /** The runtime's data dir: the source keeps its state in `<dir>/postgres/source.json`. */
  readonly stateDir: string;
  /** Replication slot (default: `shape_actors_<random>`, chosen once per data dir). */
  readonly slot?: string;
  /** Publication (default: the slot's name). */
  readonly publication?: string;
  /** How often to look for dropped tables and columns that no relation message announced (ms, default 5000; 0: never). */
  readonly schemaPollMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Shapes whose table does not exist or cannot be followed (no primary key): `keep` (default)
   * reports them and leaves them alone (the table is looked for again with each schema check);
   * `remove` removes them, with cascade, reason `table-unfollowable`.
   */
  readonly unfollowableTables?: 'keep' | 'remove';
  readonly logger?: RuntimeLogger;
  /** The source stopped on an error it cannot recover from (the runtime keeps what it applied). */
  readonly onFatal?: (error: Error) => void;
}

/** Postgres xids of the transactions most recently handed to the runtime (a move-in's snapshot must see them). */
export class RecentXids {
  readonly #entries: { readonly lsn: number; readonly pgXid: number }[] = [];
  constructor(private readonly limit = 1024) {}

  add(lsn: number, pgXid: number): void {
    this.#entries.push({ lsn, pgXid });
    if (this.#entries.length > this.limit) this.#entries.splice(0, this.#entries.length - this.limit);
  }

  through(lsn: number): number[] {
    return this.#entries.filter((e) => e.lsn <= lsn).map((e) => e.pgXid);
  }
}

export interface SourceCore {
  readonly options: PostgresSourceOptions;
  readonly logger: RuntimeLogger;
  readonly replication: Replication;
  readonly server: ServerInfo;
  readonly state: SourceStateFile;
  readonly catalog: Catalog;
  readonly stream: ReplicationStream;
  readonly tables: FollowedTables;
  /** How the row store reads the database as of the runtime's position (snapshots, move-ins, resyncs). */
  readonly reader: ReaderHost;
  /** What the row store read: new shapes' snapshots and resyncs, and move-ins. */
  readonly reads: { readonly snapshots: ReadStats; readonly moveIns: ReadStats };
  readonly recentXids: RecentXids;
  /** Aborted once the source stops: ends every wait it started. */
  readonly stopper: AbortController;
  /** Set by `start`. */
  runtime: ShapeRuntime | null;
  /** Tells the statechart that tables need reconciling (a resync, a table that can be followed now). */
  tablesChanged(): void;
}

export function requireRuntime(core: SourceCore): ShapeRuntime {
  if (!core.runtime) throw new PostgresSourceError('stopped', 'the Postgres source is not started');
  return core.runtime;
}
