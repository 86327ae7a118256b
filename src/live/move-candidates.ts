import type { KeptShape } from '../registry/kept-shape.ts';
import type { KeyedRow, MoveInSource, ResolvedChange, RowStore } from '../storage/rows/row-store.ts';
import type { WhereExpr } from '../shapes/where/ast.ts';
import { nullSensitiveDependencies, sublinkTestColumns } from '../shapes/where/columns.ts';
import { tupleHasNull } from '../shapes/where/link-key.ts';
import type { LinkMovement } from './counted-link-set.ts';
import type { LinkMoves } from './shape-actors-port.ts';

/**
 * Unchanged rows of the shape's table whose verdict may have moved with their dependencies'
 * values (the router hands them to its consumer with the transaction): the rows whose sublink
 * test values moved in or out (from `moveInSource`: the row store by default, a database when
 * configured); every row (of `rows`) when a dependency whose UNKNOWN matters to the clause
 * (`x NOT IN (SELECT ...)`) gained or lost a NULL-holding tuple, became empty or stopped being,
 * or links several columns (a NULL in one can match anything). Rows the transaction changed are
 * not candidates: they come as changes.
 */
export async function moveCandidates(
  record: KeptShape,
  moved: ReadonlyMap<string, LinkMoves>,
  tableChanges: readonly ResolvedChange[],
  rows: RowStore,
  moveInSource: MoveInSource,
): Promise<KeyedRow[]> {
  const where = record.shape.where;
  if (!where) return [];
  const table = record.shape.definition.table;
  const out = new Map<string, KeyedRow>();
  const changedKeys = new Set(tableChanges.map((c) => c.key));
  const { tests, nullSensitive } = sublinksOf(where);
  for (const [i, dep] of record.dependencyHandles.entries()) {
    const moves = moved.get(dep);
    if (!moves) continue;
    const lists = tests.get(i) ?? [];
    if (nullSensitive.has(i) && movesNullStatus(moves, lists)) {
      for await (const candidate of rows.snapshot(table, { dependencies: [] })) if (!changedKeys.has(candidate.key)) out.set(candidate.key, candidate);
      return [...out.values()];
    }
    const values = new Set([...moves.movedIn, ...moves.movedOut].filter((t) => !tupleHasNull(t)));
    for (const columns of lists) {
      for (const candidate of await moveInSource.rowsWithLinkValues(table, columns, values)) {
        if (!changedKeys.has(candidate.key)) out.set(candidate.key, candidate);
      }
    }
  }
  return [...out.values()];
}

interface Sublinks {
  /** Per subquery, the lists of columns its test compares. */
  readonly tests: Map<number, string[][]>;
  /** The subqueries whose UNKNOWN matters to the clause. */
  readonly nullSensitive: Set<number>;
}

const sublinksCache = new WeakMap<WhereExpr, Sublinks>();

function sublinksOf(where: WhereExpr): Sublinks {
  let sublinks = sublinksCache.get(where);
  if (!sublinks) sublinksCache.set(where, (sublinks = { tests: sublinkTestColumns(where), nullSensitive: nullSensitiveDependencies(where) }));
  return sublinks;
}

/** A move that can turn UNKNOWN into FALSE or back for rows whose own values did not move. */
function movesNullStatus(moves: LinkMovement, testLists: readonly (readonly string[])[]): boolean {
  const wasEmpty = moves.size - moves.movedIn.length + moves.movedOut.length === 0;
  if (wasEmpty !== (moves.size === 0)) return true;
  if (testLists.some((l) => l.length > 1)) return moves.movedIn.length > 0 || moves.movedOut.length > 0;
  return [...moves.movedIn, ...moves.movedOut].some(tupleHasNull);
}
