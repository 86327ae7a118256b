import type { RemovedShape } from './shape-reads.ts';

/**
 * A request the runtime refused; `code` says why (e.g. `invalid-where`, `unknown-shape`,
 * `shape-removed`, which carries what a reader of a removed handle must learn).
 */
export class ShapeRuntimeError extends Error {
  override readonly name = 'ShapeRuntimeError';
  constructor(
    readonly code: string,
    message: string,
    readonly removal?: RemovedShape,
  ) {
    super(message);
  }
}
