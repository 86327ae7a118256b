import type { Command } from 'commander';
import type { Readable } from 'node:stream';
import type { InspectionEvent } from 'xstate';
import type { RuntimeLogger } from '../logging/runtime-logger.ts';
import type { ProgressLine } from './progress.ts';
import type { JsonValue } from './format.ts';
import type { CommonOptionName, CommonOptions, OptionReader } from './options.ts';

export interface CommandContext {
  /** The command's name (`list`, `restore`, ...). */
  readonly command: string;
  readonly common: CommonOptions;
  readonly logger: RuntimeLogger;
  /** Where the command's runtimes send inspection events (`--inspect`, `--trace`, progress); null: nowhere. */
  readonly inspect: ((event: InspectionEvent) => void) | null;
  /** The progress line on stderr (renders nothing unless stderr is a TTY, without --json, after a second). */
  readonly progress: ProgressLine;
  /** Notices for people on stderr (the inspector's address, ...). */
  readonly notice: (text: string) => void;
  /** What `apply --file -` reads. */
  readonly stdin: Readable;
}

/** What a command hands back: `json` is printed with `--json`, `text` otherwise (both on stdout). */
export interface CommandResult {
  readonly json: JsonValue;
  readonly text: string;
  /** Exit code when the command did its job but has a finding to signal (`doctor`: 3); default 0. */
  readonly exitCode?: number;
}

/**
 * One CLI command. The registry (commands/index.ts) lists them; main.ts adds
 * the common options each one asks for, parses, and turns what `run` returns
 * or throws into output and an exit code.
 */
export interface CliCommand {
  readonly name: string;
  /** One line for `shape-actors --help`. */
  readonly summary: string;
  /** Extra lines for `shape-actors <name> --help`. */
  readonly examples?: readonly string[];
  readonly commonOptions: readonly CommonOptionName[];
  /** Declares the command's own options. */
  configure(command: Command): Command;
  run(options: OptionReader, context: CommandContext): Promise<CommandResult>;
}

/** The usual common options of a command that restores a data dir. */
export const DATA_DIR_COMMAND_OPTIONS: readonly CommonOptionName[] = ['dataDir', 'json', 'logLevel', 'policy', 'inspect', 'inspectWait', 'trace', 'forceUnlock'];
