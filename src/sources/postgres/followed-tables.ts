/**
 * The follow state of every table the source knows (table-follow.ts), which
 * of them the publication covers, and who waits for a table to be synced.
 * A resource the source's actors share (mutable by design, like the runtime's
 * registry); every state change goes through `set`, so waiters hear of it.
 */
import { PostgresSourceError } from './errors.ts';
import { isSynced, UNPUBLISHED, type TableFollow, type TableFollowState } from './table-follow.ts';

type Waiter = { resolve: () => void; reject: (error: Error) => void };

export class FollowedTables {
  readonly #states = new Map<string, TableFollow>();
  /** What the publication covers (a fact about the database, kept in step by reconcile). */
  readonly published = new Set<string>();
  readonly #waiters = new Map<string, Waiter[]>();

  get(table: string): TableFollow {
    return this.#states.get(table) ?? UNPUBLISHED;
  }

  /** Records a table's new state: a table now synced releases its waiters; a failing or unfollowable one rejects them. */
  set(table: string, next: TableFollow): void {
    if (next.state === 'unpublished') this.#states.delete(table);
    else this.#states.set(table, next);
    if (isSynced(next)) this.#release(table, null);
    else if (next.state === 'unfollowable') this.#release(table, new PostgresSourceError('definition-refused', next.reason));
  }

  /** Tables in a state other than unpublished (with those the publication covers). */
  known(): string[] {
    return [...new Set([...this.#states.keys(), ...this.published])];
  }

  inState(state: TableFollowState): string[] {
    return [...this.#states].filter(([, s]) => s.state === state).map(([t]) => t);
  }

  /** The table whose sync waits for this marker, if one does. */
  syncingWith(marker: string): string | null {
    for (const [table, s] of this.#states) if (s.state === 'syncing' && s.marker === marker) return table;
    return null;
  }

  /** Resolves once the table is synced; rejects when it cannot be followed, fails, or the source stops. */
  waitForSync(table: string): Promise<void> {
    const now = this.get(table);
    if (isSynced(now)) return Promise.resolve();
    if (now.state === 'unfollowable') return Promise.reject(new PostgresSourceError('definition-refused', now.reason));
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(table) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(table, list);
    });
  }

  /** Rejects the waiters of one table (its shapes failed) or of all (the source stopped). */
  reject(table: string | null, error: Error): void {
    if (table !== null) return this.#release(table, error);
    for (const t of [...this.#waiters.keys()]) this.#release(t, error);
  }

  #release(table: string, error: Error | null): void {
    const list = this.#waiters.get(table);
    if (!list) return;
    this.#waiters.delete(table);
    for (const w of list) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }
}
