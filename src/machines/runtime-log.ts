import { fromCallback, type AnyActorRef, type EventObject } from 'xstate';
import type { RuntimeLogger } from '../logging/runtime-logger.ts';
import type { RuntimeEmitted } from './runtime.types.ts';

const FAILURES = new Set(['consumer-failed', 'materializer-missing', 'corrupt-definition', 'corrupt-log', 'no-storage', 'schema-changed']);

/**
 * The runtime's log lines, made from what it emits (the actions log nothing themselves): invoked
 * at the root, it listens to the runtime's own events for its whole life.
 */
export const runtimeLogActor = fromCallback<EventObject, { runtime: AnyActorRef; logger: RuntimeLogger }>(({ input }) => {
  const { logger } = input;
  const subscription = input.runtime.on('*', (event: RuntimeEmitted) => logEvent(logger, event));
  return () => subscription.unsubscribe();
});

export function logEvent(logger: RuntimeLogger, event: RuntimeEmitted): void {
  switch (event.type) {
    case 'RESTORE.COMPLETED': {
      const { report } = event;
      logger.info({ mode: report.mode, fallbackReason: report.fallbackReason, loaded: report.loaded.length, removed: report.removed.length }, 'restore completed');
      return;
    }
    case 'CASCADE.STOPPED': {
      const { removal, phase } = event;
      const fields = { handle: removal.handle, reason: removal.reason, cause: removal.cause, detail: removal.detail, phase };
      if (phase === 'running' && FAILURES.has(removal.reason)) logger.warn(fields, 'shape failed: removing it');
      logger.info(fields, 'shape removed');
      return;
    }
    case 'SHAPE.ADDED':
      for (const handle of event.created) logger.info({ handle, requestId: event.requestId }, 'shape added');
      return;
    case 'SHAPES.RESYNCED':
      logger.info({ xid: event.xid, tables: event.tables, shapes: event.handles.length, written: event.written }, 'shapes resynced');
      return;
    case 'SHAPES.WOKEN':
      logger.debug({ cause: event.cause, started: event.started }, 'shapes woke');
      return;
    case 'SHAPES.SLEPT':
      logger.debug({ handles: event.handles }, 'shapes went to sleep');
      return;
    case 'REQUEST.FAILED':
      // A refused request is the caller's answer, not a problem of the runtime's.
      logger.info({ requestId: event.requestId, code: event.error.code }, event.error.message);
      return;
    case 'ACTOR.FAILED':
      logger.warn({ actorId: event.actorId, err: event.message }, 'actor failed');
      return;
    case 'STORAGE.CHECKED': {
      const { report } = event;
      logger.info({ checked: report.checked, removed: report.removed.length, problems: report.problems.length, ms: report.durationMs }, 'storage checked');
      return;
    }
    case 'RUNTIME.FAILED':
      logger.error({ err: event.error }, 'runtime failed');
      return;
    default:
      return;
  }
}
