import { z } from 'zod';
import { IdentifierSyntaxError, parseTableName, printTableName } from './identifiers.ts';
import type { Row } from './where/evaluate.ts';

export type ChangeOp = 'insert' | 'update' | 'delete';

/** One row change. `row` is the row after an insert or update, and the row (at least its key) for a delete. */
export interface Change {
  readonly op: ChangeOp;
  /** Normalized, schema-qualified (`public.users`). */
  readonly table: string;
  readonly row: Row;
  /** The row before an update, when the source knows it (the row store is used otherwise). */
  readonly oldRow?: Row;
}

export interface Transaction {
  /** Transaction id: strictly increasing; one already applied is recognised and skipped. */
  readonly xid: number;
  /**
   * The Postgres transaction id (32-bit, as pgoutput's BEGIN gives it and `pg_current_xact_id()::xid`
   * prints it) when the transaction comes from Postgres; `xid` is then its commit LSN, not this.
   */
  readonly pgXid?: number;
  readonly changes: readonly Change[];
}

/** A transaction that cannot be applied, with where and why. */
export class TransactionError extends Error {
  override readonly name = 'TransactionError';
  constructor(
    readonly reason: string,
    readonly xid: number | null,
    /** 1-based line number in the input file, when there is one. */
    readonly line: number | null = null,
    /** `out-of-order`: valid, but below the position and never applied (AppliedXids). */
    readonly code: 'invalid-transaction' | 'out-of-order' = 'invalid-transaction',
  ) {
    super(`${line !== null ? `line ${line}: ` : ''}${xid !== null ? `transaction ${xid}: ` : ''}${reason}`);
  }
}

const rowSchema = z.record(z.string(), z.unknown());
const transactionSchema = z.strictObject({
  xid: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  pgXid: z.number().int().nonnegative().max(0xffff_ffff).optional(),
  changes: z
    .array(
      z.strictObject({
        op: z.enum(['insert', 'update', 'delete']),
        table: z.string().min(1),
        row: rowSchema,
        oldRow: rowSchema.optional(),
      }),
    )
    .min(1),
});

/** The `xid` of a transaction not validated yet, when it has a numeric one. */
export function xidOf(value: unknown): number | null {
  const xid = typeof value === 'object' && value !== null ? (value as { xid?: unknown }).xid : undefined;
  return typeof xid === 'number' ? xid : null;
}

/** Validates a transaction from outside (a file line, a caller), normalizing table names. */
export function parseTransaction(value: unknown, line: number | null = null): Transaction {
  const parsed = transactionSchema.safeParse(value);
  if (!parsed.success) {
    const xid = xidOf(value);
    const issue = parsed.error.issues[0]!;
    throw new TransactionError(`${issue.path.join('.') || '(root)'}: ${issue.message}`, xid, line);
  }
  const { xid, pgXid, changes } = parsed.data;
  return {
    xid,
    ...(pgXid === undefined ? {} : { pgXid }),
    changes: changes.map((change, i) => {
      let table: string;
      try {
        table = printTableName(parseTableName(change.table));
      } catch (error) {
        if (error instanceof IdentifierSyntaxError) throw new TransactionError(`changes.${i}.table: ${error.message}`, xid, line);
        throw error;
      }
      return change.oldRow ? { op: change.op, table, row: change.row, oldRow: change.oldRow } : { op: change.op, table, row: change.row };
    }),
  };
}
