import type { CliCommand } from '../command.ts';
import { addCommand } from './add.ts';
import { applyCommand } from './apply.ts';
import { demoCommand } from './demo.ts';
import { doctorCommand } from './doctor.ts';
import { logCommand } from './log.ts';
import { valuesCommand } from './values.ts';
import { listCommand } from './list.ts';
import { removeCommand } from './remove.ts';
import { restoreCommand } from './restore.ts';
import { serveCommand } from './serve.ts';

/** Every CLI command, in the order `--help` lists them. A new command is a file plus a line here. */
export const COMMANDS: readonly CliCommand[] = [addCommand, removeCommand, listCommand, restoreCommand, doctorCommand, applyCommand, logCommand, valuesCommand, serveCommand, demoCommand];
