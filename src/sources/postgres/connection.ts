/**
 * Connecting: a pool to the database, the server checked (reachable,
 * version, `wal_level = logical`, the role may replicate), the source's state
 * in the data dir opened, and the catalog's tables read. Every refusal is a
 * PostgresSourceError with a message that says what to do.
 */
import type pg from 'pg';
import type { RuntimeLogger } from '../../logging/runtime-logger.ts';
import { allTables, Catalog, serverInfo, type ServerInfo } from './catalog.ts';
import { describeConnectError, describeTarget, PostgresSourceError } from './errors.ts';
import { quoteIdent } from './sql.ts';
import { SourceStateFile } from './state.ts';
import { loadPg } from './packages.ts';
import { pgTypes } from './values.ts';

export interface ConnectOptions {
  readonly databaseUrl: string;
  /** The data dir: the source's state is `<dir>/postgres/source.json`. */
  readonly stateDir: string;
  readonly slot?: string;
  readonly publication?: string;
  readonly logger: RuntimeLogger;
}

export interface Connection {
  readonly pool: pg.Pool;
  readonly server: ServerInfo;
  readonly state: SourceStateFile;
  /** Every user table of the database (read now; refreshed where it matters). */
  readonly catalog: Catalog;
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  try {
    const url = new URL(options.databaseUrl);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error(`protocol ${url.protocol}`);
  } catch (error) {
    throw new PostgresSourceError('invalid-url', `not a Postgres URL (postgres://user@host:port/database): ${(error as Error).message}`);
  }
  const { Pool } = await loadPg();
  const pool = new Pool({ connectionString: options.databaseUrl, types: pgTypes, application_name: 'shape-actors', max: 4, connectionTimeoutMillis: 10_000 });
  pool.on('error', (error) => options.logger.warn({ err: error.message }, 'idle Postgres connection failed'));
  try {
    const server = await serverInfo(pool);
    checkServer(server, describeTarget(options.databaseUrl));
    const { file: state, problem } = await SourceStateFile.open(options.stateDir, {
      ...(options.slot ? { slot: options.slot } : {}),
      ...(options.publication ? { publication: options.publication } : {}),
      database: server.database,
    });
    if (problem) options.logger.warn({ problem }, 'source state reset');
    const catalog = new Catalog(pool, new Map((await allTables(pool)).map((info) => [info.table, info])));
    return { pool, server, state, catalog };
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw describeConnectError(error, options.databaseUrl);
  }
}

function checkServer(server: ServerInfo, target: string): void {
  if (server.version < 140000) {
    throw new PostgresSourceError('server-version', `Postgres at ${target} is version ${server.version}; the source needs 14 or later (pgoutput logical messages)`);
  }
  if (server.walLevel !== 'logical') {
    throw new PostgresSourceError(
      'wal-level',
      `wal_level is '${server.walLevel}' on ${target}; logical replication needs wal_level = logical (set it in postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then restart Postgres)`,
    );
  }
  if (!server.replication && !server.superuser) {
    throw new PostgresSourceError(
      'replication-right',
      `role ${server.role} on ${target} may not use replication slots: it needs the REPLICATION attribute (ALTER ROLE ${quoteIdent(server.role)} REPLICATION) or superuser`,
    );
  }
}
