/**
 * The definition types and their canonical key, in a module of their own so that where/ can
 * build dependency definitions without importing definition.ts (which imports where/).
 * Import these from `./definition.ts` (which re-exports them).
 */

export type Replica = 'default' | 'full';

export interface ShapeDefinition {
  /** Schema-qualified, canonically printed: `public.users`, `public."My Table"`. */
  readonly table: string;
  /** Canonically printed where clause; absent when the shape has none. */
  readonly where?: string;
  /** Canonically printed column identifiers (`id`, `"userId"`), in the given order; absent = all. */
  readonly columns?: readonly string[];
  readonly replica: Replica;
}

/**
 * Canonical string identity of an already-normalized definition:
 * `JSON.stringify([table, where ?? null, columns ?? null, replica])`.
 */
export function definitionKey(def: ShapeDefinition): string {
  return JSON.stringify([def.table, def.where ?? null, def.columns ?? null, def.replica]);
}
