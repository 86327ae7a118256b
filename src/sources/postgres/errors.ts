/**
 * What can go wrong between the runtime and Postgres, each with a message
 * that says what to do about it. Passwords never appear in messages.
 */
export type PostgresSourceErrorCode =
  /** The URL cannot be parsed. */
  | 'invalid-url'
  /** Nothing answers at the address, or the connection timed out. */
  | 'unreachable'
  /** The server refused the login. */
  | 'auth-failed'
  | 'database-missing'
  /** `wal_level` is below `logical`. */
  | 'wal-level'
  | 'server-version'
  /** The role may not create or use a replication slot. */
  | 'replication-right'
  /** The role may not create the publication or add a table to it. */
  | 'publication-right'
  /** The role may not set a table's REPLICA IDENTITY FULL (it must own the table). */
  | 'identity-right'
  /** Another process streams from the slot. */
  | 'slot-in-use'
  /** A WAL position too large for a JS number. */
  | 'lsn-range'
  /** The stream said something we do not understand. */
  | 'protocol'
  /** The database says no to a shape: a table it reads does not exist or cannot be followed, or a column it names does not exist. */
  | 'definition-refused'
  /** The runtime refused a transaction built from the stream: nothing can be skipped, so the source stops. */
  | 'transaction-refused'
  /** The source was stopped while a request waited on it. */
  | 'stopped';

export class PostgresSourceError extends Error {
  override readonly name = 'PostgresSourceError';
  constructor(
    readonly code: PostgresSourceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** host:port/database of a URL, for messages. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database}`;
  } catch {
    return redactUrl(url);
  }
}

interface PgLikeError {
  code?: string;
  message?: string;
  errno?: number;
  syscall?: string;
}

/** The errors of connecting (and of the first queries), as PostgresSourceErrors; anything else unchanged. */
export function describeConnectError(error: unknown, url: string): unknown {
  if (error instanceof PostgresSourceError) return error;
  const e = (error ?? {}) as PgLikeError;
  const target = describeTarget(url);
  const text = e.message ?? String(error);
  switch (e.code) {
    case 'ECONNREFUSED':
      return new PostgresSourceError('unreachable', `cannot reach Postgres at ${target}: connection refused (is the server running, and is the URL right?)`, { cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new PostgresSourceError('unreachable', `cannot reach Postgres at ${target}: host not found`, { cause: error });
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new PostgresSourceError('unreachable', `cannot reach Postgres at ${target}: ${e.code}`, { cause: error });
    case '28P01':
    case '28000':
      return new PostgresSourceError('auth-failed', `Postgres at ${target} refused the login: ${text}`, { cause: error });
    case '3D000':
      return new PostgresSourceError('database-missing', `Postgres at ${target}: ${text}`, { cause: error });
    case '42501':
      return new PostgresSourceError('replication-right', `Postgres at ${target}: ${text}`, { cause: error });
    default:
      if (/timeout/i.test(text) && /connect/i.test(text)) {
        return new PostgresSourceError('unreachable', `cannot reach Postgres at ${target}: ${text}`, { cause: error });
      }
      // Something listens there but does not speak Postgres (it hangs up, or answers garbage).
      if (!/^[0-9A-Z]{5}$/.test(e.code ?? '') && (isConnectionError(error) || /unexpected|protocol/i.test(text))) {
        return new PostgresSourceError('unreachable', `the server at ${target} did not answer as Postgres (${text}): is the URL's port a Postgres server's?`, { cause: error });
      }
      return error;
  }
}

/** A connection-level failure (worth retrying), as opposed to an SQL error. */
export function isConnectionError(error: unknown): boolean {
  const e = (error ?? {}) as PgLikeError;
  if (typeof e.code === 'string') {
    if (/^E[A-Z]+$/.test(e.code)) return true; // ECONNRESET, ECONNREFUSED, EPIPE, ...
    if (e.code.startsWith('08')) return true; // connection_exception
    if (e.code === '57P01' || e.code === '57P02' || e.code === '57P03') return true; // admin shutdown, crash shutdown, cannot connect now
  }
  const text = e.message ?? '';
  return /Connection terminated|connection.*(closed|ended|terminated)|Client has encountered a connection error|timeout/i.test(text);
}
