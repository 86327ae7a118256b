/**
 * CPU and wall time of each restore state, without a hook in src and without
 * an inspector (one costs about half as much again as spawning itself): the
 * storage the runtime restores from is wrapped, and each state is known by
 * the storage calls it makes.
 *
 * read  = start -> the last definition or log read of the load: listing,
 *         reading, JSON + schema checks, log decoding (and the backup's)
 * parse = that -> the first call of committingRestore (readInDoubtBatch,
 *         retireBackup, deleteShape, removeStray): the rest of the load
 *         (normalizeShape of every definition: libpg-query parses each where
 *         clause), then validatingDependencies (planRestore, CASCADE.STOPs)
 * commit = that -> its last storage call (materializer logs read)
 * spawn  = that -> running (createShapeRuntime resolved): spawning every actor
 */
import { performance } from 'node:perf_hooks';
import type { ShapeStorage } from '../../src/storage/storage.ts';
import type { Timing } from './stats.ts';

export type RestorePhaseName = 'read' | 'parse' | 'commit' | 'spawn';

interface Mark {
  readonly cpu: number;
  readonly wall: number;
}

const COMMIT_CALLS = new Set(['readInDoubtBatch', 'retireBackup', 'deleteShape', 'removeStray']);

function now(): Mark {
  const cpu = process.cpuUsage();
  return { cpu: (cpu.user + cpu.system) / 1000, wall: performance.now() };
}

export class PhaseClock {
  readonly #start = now();
  #loadEnd: Mark | null = null;
  #commitStart: Mark | null = null;
  #commitEnd: Mark | null = null;
  #running: Mark | null = null;

  /** The storage to restore from, wrapped so its calls mark the phases. */
  wrap<S extends ShapeStorage>(storage: S): S {
    return new Proxy(storage, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const name = String(property);
        return (...args: unknown[]) => {
          if (COMMIT_CALLS.has(name) && !this.#commitStart) this.#commitStart = now();
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) return result.then((v) => (this.#done(name), v));
          this.#done(name);
          return result;
        };
      },
    });
  }

  #done(name: string): void {
    if (!this.#commitStart) {
      if (name === 'readShape' || name === 'readLog') this.#loadEnd = now();
    } else {
      this.#commitEnd = now();
    }
  }

  /** Call when createShapeRuntime has resolved. */
  running(): void {
    this.#running = now();
  }

  phases(): Partial<Record<RestorePhaseName, Timing>> {
    const span = (a: Mark | null, b: Mark | null): Timing | undefined => (a && b ? { wallMs: b.wall - a.wall, cpuMs: b.cpu - a.cpu } : undefined);
    const out: Partial<Record<RestorePhaseName, Timing>> = {};
    const set = (name: RestorePhaseName, t: Timing | undefined): void => {
      if (t) out[name] = t;
    };
    set('read', span(this.#start, this.#loadEnd));
    set('parse', span(this.#loadEnd, this.#commitStart));
    set('commit', span(this.#commitStart, this.#commitEnd));
    set('spawn', span(this.#commitEnd, this.#running));
    return out;
  }
}
