import { normalizeShape, type NormalizedShape, type ShapeDefinition } from '../shapes/definition.ts';
import { createHandle } from '../shapes/handle.ts';
import type { StoredShape } from '../storage/storage.ts';
import type { ShapeRecord } from './shape-record.ts';
import type { ShapeRegistry } from './shape-registry.ts';

export interface ShapeCreationPlan {
  /** The shape the caller asked for (new or existing). */
  readonly handle: string;
  readonly dependencyHandles: readonly string[];
  /** Shapes to create, dependencies first (the requested one last, when new). */
  readonly created: readonly ShapeRecord[];
  /** An existing shape a caller now asks for directly: its `requested` flag turns on. */
  readonly nowRequested: StoredShape | null;
}

/**
 * Resolves a normalized shape against the registry: identical definitions
 * share one handle, missing dependency shapes (at any depth) are created.
 * Pure apart from the clock the new handles read.
 */
export function planShapeCreation(registry: ShapeRegistry, shape: NormalizedShape): ShapeCreationPlan {
  const created: ShapeRecord[] = [];
  const createdByKey = new Map<string, ShapeRecord>();

  const resolve = (normalized: NormalizedShape, requested: boolean): ShapeRecord | { stored: StoredShape } => {
    const existing = registry.handleForKey(normalized.key);
    if (existing !== undefined) return registry.get(existing)!;
    const pending = createdByKey.get(normalized.key);
    if (pending) return pending;
    const dependencyHandles = normalized.dependencies.map((dep: ShapeDefinition) => resolve(normalizeShape(dep), false).stored.handle);
    const record: ShapeRecord = {
      stored: { handle: createHandle(normalized.key), definition: normalized.definition, dependencyHandles, requested },
      shape: normalized,
    };
    created.push(record);
    createdByKey.set(normalized.key, record);
    return record;
  };

  const result = resolve(shape, true);
  const nowRequested = created.length === 0 && !result.stored.requested ? { ...result.stored, requested: true } : null;
  return { handle: result.stored.handle, dependencyHandles: result.stored.dependencyHandles, created, nowRequested };
}
