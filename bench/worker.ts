/**
 * Child-process entry for one benchmark case (see bench/lib/child.ts):
 *   node --expose-gc --import tsx bench/worker.ts <kind> <json args> <result file>
 */
import { writeFileSync } from 'node:fs';
import { restoreCase, type RestoreCaseArgs } from './scenarios/restore.ts';
import { restartCase, type RestartCaseArgs } from './scenarios/restart.ts';
import { routingCase, type RoutingCaseArgs } from './scenarios/routing.ts';
import { addCase, historyCase, type AddCaseArgs, type HistoryCaseArgs } from './scenarios/row-store.ts';
import { followCase, soakCase, type FollowCaseArgs, type SoakCaseArgs } from './scenarios/postgres.ts';
import { runtimeCase, type RuntimeCaseArgs } from './scenarios/runtime.ts';
import { servingCase, type ServingCaseArgs } from './scenarios/serving.ts';
import { runValidation, type ValidationOptions } from './scenarios/validation.ts';

const [kind, rawArgs, out] = process.argv.slice(2);
if (!kind || !rawArgs || !out) {
  console.error('usage: bench/worker.ts <validation|restore|restart|runtime|routing|rows-history|rows-add|serving|postgres-follow|postgres-soak> <json args> <result file>');
  process.exit(2);
}
const args = JSON.parse(rawArgs) as Record<string, unknown>;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

// Each case's arguments come as JSON from the parent (bench/lib/child.ts), typed by the scenario that sends them.
const CASES: Readonly<Record<string, (args: never) => unknown>> = {
  validation: (a: Omit<ValidationOptions, 'log'>) => runValidation({ ...a, log }),
  restore: (a: RestoreCaseArgs) => restoreCase(a),
  restart: (a: RestartCaseArgs) => restartCase(a),
  runtime: (a: RuntimeCaseArgs) => runtimeCase(a),
  routing: (a: RoutingCaseArgs) => routingCase(a),
  'rows-history': (a: HistoryCaseArgs) => historyCase(a),
  'rows-add': (a: AddCaseArgs) => addCase(a),
  'postgres-follow': (a: FollowCaseArgs) => followCase(a),
  'postgres-soak': (a: SoakCaseArgs) => soakCase(a),
  serving: (a: ServingCaseArgs) => servingCase(a),
};

const run = Object.hasOwn(CASES, kind) ? CASES[kind] : undefined;
if (!run) {
  console.error(`unknown bench case ${kind}`);
  process.exit(2);
}
const result: unknown = await run(args as never);
writeFileSync(out, JSON.stringify(result));
