/**
 * Why a shape was removed. Every removal names the handle that caused it (or
 * null when the shape itself is the cause), so a report can walk the chain
 * back to the first missing shape.
 */
export type RemovalReason =
  /** Named by the backup, but its storage directory is gone. */
  | 'no-storage'
  /** Its definition file is unreadable, not JSON, or not a valid definition. */
  | 'corrupt-definition'
  /** Its log is missing or damaged before its last line (a torn last line is repaired, not a reason). */
  | 'corrupt-log'
  /** A dependency handle names a shape that is not stored at all. */
  | 'missing-dependency'
  /** A dependency handle names a shape whose definition is not the subquery's. */
  | 'dependency-mismatch'
  /** A dependency was removed (for any reason): removal is transitive. */
  | 'dependency-removed'
  /** The shape sits on a dependency cycle. */
  | 'cycle'
  /** Another stored shape has the same definition and was kept by the fixed rule. */
  | 'duplicate'
  /** Restore policy `dropDependent`: every shape with subqueries is dropped. */
  | 'policy-drop-dependent'
  /** Restore policy `dropDependent`: a dependency shape only dropped shapes used. */
  | 'unused-dependency'
  /** Removed by a caller. */
  | 'removed'
  /** Evicted by expiry (least recently used past `maxShapes`). */
  | 'evicted'
  /** Its consumer failed more often than the restart intensity allows. */
  | 'consumer-failed'
  /** A materializer it needed was not running. */
  | 'materializer-missing'
  /** Its table changed shape underneath it (column dropped, type changed, table dropped). */
  | 'schema-changed'
  /** Its table does not exist or cannot be followed (no primary key), and the host chose to remove such shapes. */
  | 'table-unfollowable';

export interface Removal {
  readonly handle: string;
  readonly reason: RemovalReason;
  /** The handle that caused this removal, or null when the shape itself is the cause. */
  readonly cause: string | null;
  /** Free-text detail for people: which file, which dependency index, ... */
  readonly detail?: string;
}

/**
 * Follows `cause` links from a removal back to the first cause.
 * Returns handles, starting with `handle` itself. Stops at a loop or an unknown cause.
 */
export function causeChain(handle: string, removals: ReadonlyMap<string, Removal>): string[] {
  const chain = [handle];
  const seen = new Set(chain);
  let current = removals.get(handle);
  while (current?.cause != null && !seen.has(current.cause)) {
    chain.push(current.cause);
    seen.add(current.cause);
    current = removals.get(current.cause);
  }
  return chain;
}
