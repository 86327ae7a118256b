import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import type { LogLevel } from '../logging/runtime-logger.ts';
import type { CliCommand, CommandResult } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { describeFailure, ExitCode, type CliFailure } from './errors.ts';
import { addCommonOptions, OptionReader, type CommonOptions } from './options.ts';
import { ProgressLine } from './progress.ts';
import { openSession } from './session.ts';

export const PROGRAM = 'shape-actors';

/** Where the CLI writes; the real process streams by default, a buffer in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal: the progress line may be drawn there (default false). */
  readonly stderrIsTTY?: boolean;
  /** The terminal's width, for the progress line. */
  readonly columns?: () => number;
  /** What `apply --file -` reads (default: the process's stdin). */
  readonly stdin?: Readable;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  stderrIsTTY: process.stderr.isTTY === true,
  columns: () => process.stderr.columns || 80,
};

/**
 * Runs one CLI invocation and returns its exit code (it never calls
 * process.exit, so output is flushed and it can run in-process).
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo, commands: readonly CliCommand[] = COMMANDS): Promise<number> {
  // Filled in by the command's action once commander has parsed the arguments.
  const parsed: { common: CommonOptions | null; result: CommandResult | null; closed: boolean } = { common: null, result: null, closed: true };
  const program = buildProgram(io, commands, async (command, reader) => {
    const common = reader.common(command.commonOptions);
    parsed.common = common;
    const progress = new ProgressLine({ enabled: io.stderrIsTTY === true && !common.json, write: io.stderr, ...(io.columns ? { columns: io.columns } : {}) });
    const { createCliLogger } = await import('./logger.ts'); // pino: loaded only when a command runs
    const logger = createCliLogger(common.logLevel, () => progress.clear());
    logger.debug({ command: command.name, argv }, 'command started');
    const session = await openSession(common, progress, logger, io.stderr);
    try {
      parsed.result = await command.run(reader, { command: command.name, common, logger, progress, inspect: session.inspect, notice: session.notice, stdin: io.stdin ?? process.stdin });
    } finally {
      // The trace is written and the inspector stopped whether the command succeeded or not.
      parsed.closed = await session.close();
    }
    logger.debug({ command: command.name }, 'command finished');
  });

  if (argv.length === 0) return fail({ exitCode: ExitCode.usage, code: 'usage', message: `no command given (try '${PROGRAM} --help')`, unexpected: false });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')) return ExitCode.ok;
    // `help <command>` (exit 0), or help commander wrote to stderr for a missing subcommand (exit 2).
    if (error instanceof CommanderError && error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    const failure = describeFailure(error);
    if (error instanceof CommanderError) return fail({ ...failure, message: `${failure.message} (see '${helpCommand(argv, commands)}')` });
    if (!failure.unexpected) return fail(failure);
    // A bug rather than bad input: the stack is worth having, but only when asked for.
    if (!wantsDebug(parsed.common, argv)) return fail({ ...failure, message: `${failure.message} (--log-level debug shows the stack)` });
    if (error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
    return fail(failure);
  }
  const { common, result } = parsed;
  if (result === null) return ExitCode.ok;
  if (common?.json) io.stdout(`${JSON.stringify(result.json, null, 2)}\n`);
  else io.stdout(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
  // The command did its job, but what --trace or --inspect owed was not delivered (said on stderr): not a success.
  if (!parsed.closed) return ExitCode.failure;
  return result.exitCode ?? ExitCode.ok;

  function fail(failure: CliFailure): number {
    io.stderr(`${PROGRAM}: ${failure.message}\n`);
    // With --json the caller reads stdout: it gets one document there too.
    if (parsed.common?.json ?? argv.includes('--json')) io.stdout(`${JSON.stringify({ error: { code: failure.code, message: failure.message } }, null, 2)}\n`);
    return failure.exitCode;
  }
}

function buildProgram(io: CliIo, commands: readonly CliCommand[], execute: (command: CliCommand, reader: OptionReader) => Promise<void>): Command {
  const program = new Command(PROGRAM)
    .description('Shapes (live, filtered views of Postgres tables) as XState actors, restored safely: no actor ever starts pointing at a missing dependency.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: () => {}, // runCli prints the one-line error itself
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `\nEvery data dir command restores the data dir first, acts, then shuts down cleanly (writing a backup);\ndoctor only reads; demo works on a data dir of its own.\nExit codes: 0 success, 1 failure (data dir unusable, request refused), 2 unusable arguments,\n3 doctor: restore would remove shapes.`,
    );
  for (const spec of commands) {
    const command = program.command(spec.name).summary(spec.summary).description(spec.summary);
    addCommonOptions(command, spec.commonOptions);
    spec.configure(command);
    if (spec.examples?.length) command.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}`);
    command.action(async (_options: unknown, self: Command) => execute(spec, new OptionReader(self.opts())));
  }
  return program;
}

/** `shape-actors <command> --help` when argv names a command, else `shape-actors --help`. */
function helpCommand(argv: readonly string[], commands: readonly CliCommand[]): string {
  const name = commands.find((c) => c.name === argv[0])?.name;
  return name ? `${PROGRAM} ${name} --help` : `${PROGRAM} --help`;
}

function wantsDebug(common: CommonOptions | null, argv: readonly string[]): boolean {
  if (common) return common.logLevel === 'debug';
  const i = argv.indexOf('--log-level');
  const level = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--log-level='))?.slice('--log-level='.length);
  return level === ('debug' satisfies LogLevel);
}

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
