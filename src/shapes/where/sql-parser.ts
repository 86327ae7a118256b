/**
 * The one place that talks to libpg-query (Postgres 18's own parser compiled to WASM).
 *
 * libpg-query needs an asynchronous WASM initialisation before its synchronous API can be used;
 * `loadSqlParser()` does it once (idempotent, concurrent calls share one load). Everything else in
 * `src/shapes/` is synchronous and calls `parseSqlSync`, which throws a clear Error when the parser
 * was not loaded yet.
 */
import { loadModule, parseSync } from 'libpg-query';
import type { ParseResult } from 'libpg-query';

let loaded = false;
let loading: Promise<void> | undefined;

/** Loads the WASM SQL parser. Idempotent; await it once at startup (and in test `beforeAll`). */
export async function loadSqlParser(): Promise<void> {
  if (loaded) return;
  loading ??= loadModule().then(() => {
    loaded = true;
  });
  try {
    await loading;
  } catch (e) {
    loading = undefined;
    throw e;
  }
}

export function isSqlParserLoaded(): boolean {
  return loaded;
}

/** Thrown for SQL that libpg-query rejects; `cursorPosition` is a 0-based character index. */
export interface SqlSyntaxErrorInfo {
  readonly message: string;
  readonly cursorPosition: number | undefined;
}

/**
 * Parses SQL synchronously. Throws `Error('SQL parser not loaded: ...')` if `loadSqlParser()` has
 * not completed; rethrows libpg-query's SqlError (with `sqlDetails.cursorPosition`) on bad SQL.
 */
export function parseSqlSync(sql: string): ParseResult {
  if (!loaded) {
    throw new Error('SQL parser not loaded: await loadSqlParser() (from src/shapes) before parsing where clauses');
  }
  return parseSync(sql);
}

/** Extracts message and 0-based cursor position from a libpg-query error, if it is one. */
export function sqlErrorInfo(e: unknown): SqlSyntaxErrorInfo | undefined {
  if (!(e instanceof Error)) return undefined;
  const details = (e as { sqlDetails?: { message?: unknown; cursorPosition?: unknown } }).sqlDetails;
  if (details === undefined) return undefined;
  const message = typeof details.message === 'string' ? details.message : e.message;
  const pos = typeof details.cursorPosition === 'number' ? details.cursorPosition : undefined;
  return { message, cursorPosition: pos };
}
