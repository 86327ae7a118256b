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

let result: unknown;
switch (kind) {
  case 'validation':
    result = runValidation({ ...(args as unknown as Omit<ValidationOptions, 'log'>), log });
    break;
  case 'restore':
    result = await restoreCase(args as unknown as RestoreCaseArgs);
    break;
  case 'restart':
    result = await restartCase(args as unknown as RestartCaseArgs);
    break;
  case 'runtime':
    result = await runtimeCase(args as unknown as RuntimeCaseArgs);
    break;
  case 'routing':
    result = await routingCase(args as unknown as RoutingCaseArgs);
    break;
  case 'rows-history':
    result = await historyCase(args as unknown as HistoryCaseArgs);
    break;
  case 'rows-add':
    result = await addCase(args as unknown as AddCaseArgs);
    break;
  case 'postgres-follow':
    result = await followCase(args as unknown as FollowCaseArgs);
    break;
  case 'postgres-soak':
    result = await soakCase(args as unknown as SoakCaseArgs);
    break;
  case 'serving':
    result = await servingCase(args as unknown as ServingCaseArgs);
    break;
  default:
    console.error(`unknown bench case ${kind}`);
    process.exit(2);
}
writeFileSync(out, JSON.stringify(result));
