/**
 * What may be confirmed to the replication slot: pure decisions. Confirming
 * LSN L tells the server it may recycle the WAL through L, so nothing may be
 * confirmed that a restart would still need.
 *
 * - A transaction the runtime applied (its shape logs durable) or recognised
 *   as applied before: confirmed as soon as every transaction before it is.
 * - A stretch with nothing to apply (markers, tables not followed, keepalives
 *   while idle): confirmed only after the source recorded it as `ackedThrough`
 *   in its state file, so a restart tells "the slot moved on because we
 *   confirmed it" from "the slot moved on without us" (then every table is read again).
 */

/** How an in-flight transaction ended, for the slot. */
export type Settlement =
  /** Its shape logs are durable (or it was applied before): confirm it now. */
  | 'confirm'
  /** It had nothing to apply: confirm it once recorded (see `idleAckTarget`). */
  | 'record-first';

export function settlement(entry: { readonly applied: boolean; readonly skipped: boolean }): Settlement {
  return entry.applied || entry.skipped ? 'confirm' : 'record-first';
}

export interface IdleAckInput {
  /** Highest commit with nothing to apply whose predecessors are all settled. */
  readonly ackable: number;
  /** Nothing is in flight and nothing received waits to be handed over. */
  readonly idle: boolean;
  /** The server's last keepalive position (everything before it was sent). */
  readonly keepaliveLsn: number;
  readonly confirmed: number;
  /** The runtime's position (last applied commit). */
  readonly position: number;
}

/**
 * The position to record and confirm for a stretch with nothing to apply, or
 * null when there is nothing new. While idle, a keepalive says everything
 * before its position was sent, and all of it is applied: that is safe too.
 */
export function idleAckTarget(input: IdleAckInput): number | null {
  let target = input.ackable;
  if (input.idle && input.keepaliveLsn > 0) target = Math.max(target, input.keepaliveLsn - 1);
  return target > Math.max(input.confirmed, input.position) ? target : null;
}

/**
 * Whether the slot moved past what the data dir knows (applied, or recorded as
 * confirmed with nothing to apply): then changes were lost to us and every
 * table must be read again. pg-logical-replication confirms `lsn + 1`, hence the slack.
 */
export function slotMovedOn(slotConfirmed: number, position: number, ackedThrough: number): boolean {
  return slotConfirmed > Math.max(position, ackedThrough) + 1;
}
