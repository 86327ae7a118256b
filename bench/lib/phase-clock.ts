/**
 * CPU and wall time of each restore state, without a hook in src and without
 * an inspector (one costs about half as much again as spawning itself): the
 * storage the runtime restores from is wrapped, and each state is known by
 * the storage calls it makes.
 *
 * read  = start -> the last definition or log read of the load (two per listed shape): listing,
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
  /** Definition and log reads the load will make (two per listed shape), and made so far. */
  #expectedReads = Number.POSITIVE_INFINITY;
  #reads = 0;

  /**
   * The storage to restore from, wrapped so its calls mark the phases. The
   * clock reads the CPU time (a getrusage syscall, ~10 µs here) only at the
   * phase boundaries: the last of the load's reads, then the commit's calls.
   */
  wrap<S extends ShapeStorage>(storage: S): S {
    const wrappers = new Map<PropertyKey, unknown>();
    return new Proxy(storage, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        let wrapper = wrappers.get(property);
        if (!wrapper) {
          const name = String(property);
          const fn = value as (...a: unknown[]) => unknown;
          wrapper = (...args: unknown[]): unknown => {
            if (COMMIT_CALLS.has(name) && !this.#commitStart) this.#commitStart = now();
            const result = fn.apply(target, args);
            if (result instanceof Promise) {
              return result.then(
                (v: unknown) => (this.#done(name, v), v),
                (error: unknown) => {
                  this.#done(name, undefined);
                  throw error;
                },
              );
            }
            this.#done(name, result);
            return result;
          };
          wrappers.set(property, wrapper);
        }
        return wrapper;
      },
    });
  }

  #done(name: string, result: unknown): void {
    if (this.#commitStart) {
      this.#commitEnd = now();
    } else if (name === 'listShapes') {
      this.#expectedReads = 2 * ((result as { handles?: readonly string[] } | undefined)?.handles?.length ?? 0);
    } else if ((name === 'readShape' || name === 'readLog') && ++this.#reads === this.#expectedReads) {
      this.#loadEnd = now();
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
