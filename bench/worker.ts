/**
 * Child-process entry for one benchmark case (see bench/lib/child.ts):
 *   node --expose-gc --import tsx bench/worker.ts <kind> <json args> <result file>
 */
import { writeFileSync } from 'node:fs';
import type { RestoreCaseArgs } from './scenarios/restore.ts';
import type { RestartCaseArgs } from './scenarios/restart.ts';
import type { RoutingCaseArgs } from './scenarios/routing.ts';
import type { AddCaseArgs, HistoryCaseArgs } from './scenarios/row-store.ts';
import type { FollowCaseArgs, SoakCaseArgs } from './scenarios/postgres.ts';
import type { RuntimeCaseArgs } from './scenarios/runtime.ts';
import type { ServingCaseArgs } from './scenarios/serving.ts';
import type { ValidationOptions } from './scenarios/validation.ts';

const [kind, rawArgs, out] = process.argv.slice(2);
if (!kind || !rawArgs || !out) {
  console.error('usage: bench/worker.ts <validation|restore|restart|runtime|routing|rows-history|rows-add|serving|postgres-follow|postgres-soak> <json args> <result file>');
  process.exit(2);
}
const args = JSON.parse(rawArgs) as Record<string, unknown>;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

// Each case's arguments come as JSON from the parent (bench/lib/child.ts), typed by the scenario that sends them.
// Only the case's own scenario is loaded: a child starts in about half the time of one that loads them all.
const CASES: Readonly<Record<string, (args: never) => Promise<unknown>>> = {
  validation: async (a: Omit<ValidationOptions, 'log'>) => (await import('./scenarios/validation.ts')).runValidation({ ...a, log }),
  restore: async (a: RestoreCaseArgs) => (await import('./scenarios/restore.ts')).restoreCase(a),
  restart: async (a: RestartCaseArgs) => (await import('./scenarios/restart.ts')).restartCase(a),
  runtime: async (a: RuntimeCaseArgs) => (await import('./scenarios/runtime.ts')).runtimeCase(a),
  routing: async (a: RoutingCaseArgs) => (await import('./scenarios/routing.ts')).routingCase(a),
  'rows-history': async (a: HistoryCaseArgs) => (await import('./scenarios/row-store.ts')).historyCase(a),
  'rows-add': async (a: AddCaseArgs) => (await import('./scenarios/row-store.ts')).addCase(a),
  'postgres-follow': async (a: FollowCaseArgs) => (await import('./scenarios/postgres.ts')).followCase(a),
  'postgres-soak': async (a: SoakCaseArgs) => (await import('./scenarios/postgres.ts')).soakCase(a),
  serving: async (a: ServingCaseArgs) => (await import('./scenarios/serving.ts')).servingCase(a),
};

const run = Object.hasOwn(CASES, kind) ? CASES[kind] : undefined;
if (!run) {
  console.error(`unknown bench case ${kind}`);
  process.exit(2);
}
const result: unknown = await run(args as never);
writeFileSync(out, JSON.stringify(result));
