import { writeFile } from 'node:fs/promises';
import type { InspectionEvent } from 'xstate';

/** One inspection event, reduced to plain JSON that outlives the actors it describes. */
export interface RecordedInspectionEvent {
  readonly seq: number;
  /** Milliseconds since the recorder was created. */
  readonly at: number;
  readonly type: InspectionEvent['type'];
  /** The actor the event is about (for `@xstate.event`, the recipient). */
  readonly sessionId: string;
  readonly actorId: string;
  readonly systemId: string | null;
  readonly parentSessionId: string | null;
  /** `@xstate.event`: who sent it (null for events from outside the system). */
  readonly sourceSessionId?: string | null;
  /** `@xstate.event`, `@xstate.snapshot`, `@xstate.transition`: the event, JSON-safe. */
  readonly event?: unknown;
  /** `@xstate.snapshot` of a state machine: its state value. */
  readonly stateValue?: unknown;
  /** `@xstate.snapshot`: the actor's status. */
  readonly status?: string;
}

export interface InspectionRecorderOptions {
  /** Which kinds of inspection event to keep (default: actor, event, snapshot). */
  readonly types?: readonly InspectionEvent['type'][];
  /** Stop recording past this many events (default 1,000,000), so a long run cannot eat the heap. */
  readonly maxEvents?: number;
}

export interface InspectionRecorder {
  /** Pass as `inspect` to createActor / the runtime. */
  readonly inspect: (event: InspectionEvent) => void;
  readonly events: readonly RecordedInspectionEvent[];
  /** True when maxEvents was reached and later events were dropped. */
  readonly truncated: boolean;
  /** Writes `{ "events": [...] }` to a file, for offline replay. */
  writeJson(file: string): Promise<void>;
  clear(): void;
}

interface ActorRefInternals {
  readonly sessionId: string;
  readonly id?: string;
  readonly systemId?: string;
  readonly options?: { readonly systemId?: string };
  readonly _parent?: { readonly sessionId: string };
}

const DEFAULT_TYPES: readonly InspectionEvent['type'][] = ['@xstate.actor', '@xstate.event', '@xstate.snapshot'];

/**
 * An inspector that keeps inspection events in memory, as plain data. Tests
 * use it to check, from the actor system itself, which actors were created
 * and in what order; the CLI writes it with `--trace FILE`.
 */
export function createInspectionRecorder(options: InspectionRecorderOptions = {}): InspectionRecorder {
  const types = new Set(options.types ?? DEFAULT_TYPES);
  const maxEvents = options.maxEvents ?? 1_000_000;
  const events: RecordedInspectionEvent[] = [];
  const started = performance.now();
  let truncated = false;

  const inspect = (inspectionEvent: InspectionEvent): void => {
    if (!types.has(inspectionEvent.type)) return;
    if (events.length >= maxEvents) {
      truncated = true;
      return;
    }
    const ref = inspectionEvent.actorRef as unknown as ActorRefInternals;
    // `@xstate.actor` fires before XState assigns `systemId`; the options already hold it.
    const base = {
      seq: events.length,
      at: Math.round((performance.now() - started) * 1000) / 1000,
      type: inspectionEvent.type,
      sessionId: ref.sessionId,
      actorId: ref.id ?? ref.sessionId,
      systemId: ref.systemId ?? ref.options?.systemId ?? null,
      parentSessionId: ref._parent?.sessionId ?? null,
    };
    switch (inspectionEvent.type) {
      case '@xstate.event': {
        const source = inspectionEvent.sourceRef as unknown as ActorRefInternals | undefined;
        events.push({ ...base, sourceSessionId: source?.sessionId ?? null, event: toPlain(inspectionEvent.event) });
        break;
      }
      case '@xstate.snapshot':
      case '@xstate.transition': {
        const snapshot = inspectionEvent.snapshot as { status?: string; value?: unknown };
        events.push({ ...base, event: toPlain(inspectionEvent.event), stateValue: toPlain(snapshot.value), status: snapshot.status ?? 'active' });
        break;
      }
      default:
        events.push(base);
    }
  };

  return {
    inspect,
    events,
    get truncated() {
      return truncated;
    },
    async writeJson(file: string) {
      await writeFile(file, `${JSON.stringify({ truncated, events })}\n`);
    },
    clear() {
      events.length = 0;
      truncated = false;
    },
  };
}

/** A JSON-safe copy: actor refs become their session ids, depth and width are bounded. */
function toPlain(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return undefined;
  if (depth >= 6) return '[…]';
  if ('sessionId' in value && 'send' in value) return { actor: (value as ActorRefInternals).sessionId };
  if (Array.isArray(value)) {
    const items = value.slice(0, 50).map((v) => toPlain(v, depth + 1));
    if (value.length > 50) items.push(`[… ${value.length - 50} more]`);
    return items;
  }
  if (value instanceof Error) return { error: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const [key, v] of Object.entries(value)) {
    if (count++ >= 50) break;
    const plain = toPlain(v, depth + 1);
    if (plain !== undefined) out[key] = plain;
  }
  return out;
}
