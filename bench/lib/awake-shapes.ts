/**
 * The runtime's own shapes resource (RuntimeShapes) outside the runtime, every shape registered
 * and woken (its consumer, and its materializer when others depend on it): what the router and
 * heap benchmarks drive directly.
 */
import { createActor } from 'xstate';
import { planActivation } from '../../src/actors/activation.ts';
import { RuntimeShapes } from '../../src/actors/runtime-shapes.ts';
import { interpretStoredShape, type ShapeRecord } from '../../src/registry/shape-record.ts';
import { MemoryStorage } from '../../src/storage/memory-store.ts';
import type { TableStore } from '../../src/storage/rows/table-store.ts';
import type { LogEntry, StoredShape } from '../../src/storage/storage.ts';
import { trivialMachine } from './floor.ts';

export function recordsOf(shapes: readonly { readonly stored: StoredShape }[]): ShapeRecord[] {
  return shapes.map((s) => {
    const interpreted = interpretStoredShape(s.stored);
    if (!interpreted.ok) throw new Error(interpreted.reason);
    return interpreted.record;
  });
}

/** Registers `shapes` (dependencies first) asleep, in a memory store holding their logs. */
export async function registeredShapes(shapes: readonly { readonly stored: StoredShape; readonly log: readonly LogEntry[] }[], rows: TableStore): Promise<{ shapes: RuntimeShapes; stop(): void }> {
  const storage = new MemoryStorage();
  for (const s of shapes) await storage.createShape(s.stored, s.log);
  const root = createActor(trivialMachine).start();
  const runtimeShapes = new RuntimeShapes(storage, root);
  runtimeShapes.openRows(rows);
  const records = recordsOf(shapes);
  runtimeShapes.registerRestored(records, new Set(records.map((r) => r.stored.handle)));
  return {
    shapes: runtimeShapes,
    stop: () => {
      runtimeShapes.stopAll();
      root.stop();
    },
  };
}

/** Wakes every registered shape, dependencies first; returns the actors started. */
export async function wakeAll(shapes: RuntimeShapes, lastXid: number): Promise<number> {
  const plan = await planActivation(shapes, [...shapes.registry.graph.topologicalOrder()]);
  return shapes.wake(plan, lastXid).length;
}
