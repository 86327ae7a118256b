/**
 * One progress line on stderr, for work that takes long enough to wonder
 * about: nothing is drawn during the first second of a task (most commands
 * finish well within it), nothing at all when stderr is not a terminal or
 * with --json. Redrawn in place (`\r`, erase to end of line) ten times a
 * second at most; a log line clears it first (see cli/logger.ts), the next
 * redraw brings it back.
 *
 * Not a library (cli-progress would do the drawing): what matters here is
 * the delay, TTY detection and coordination with pino's lines on the same
 * stream, which a library leaves to the caller anyway.
 */
export interface ProgressLineOptions {
  /** Draw at all (stderr is a TTY and the output is not --json). */
  readonly enabled: boolean;
  readonly write: (text: string) => void;
  /** Terminal width (the line is cut to fit); default 80. */
  readonly columns?: () => number;
  /** Show a task only once it has run this long (default 1000 ms). */
  readonly delayMs?: number;
  readonly now?: () => number;
  /** Redraw interval (default 100 ms); 0: no timer (tests call `render()`). */
  readonly intervalMs?: number;
}

interface Task {
  label: string;
  done: number | null;
  total: number | null;
  unit: string;
  readonly startedAt: number;
}

const BAR_WIDTH = 20;

export class ProgressLine {
  readonly #options: ProgressLineOptions;
  readonly #now: () => number;
  #task: Task | null = null;
  #drawn = false;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: ProgressLineOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.#options.enabled;
  }

  /** Whether a line is on screen now. */
  get visible(): boolean {
    return this.#drawn;
  }

  /** Starts (or replaces) the task shown; its clock starts now. */
  start(label: string, options: { total?: number; unit?: string } = {}): void {
    if (!this.#options.enabled) return;
    this.#task = { label, done: null, total: options.total ?? null, unit: options.unit ?? '', startedAt: this.#now() };
    const interval = this.#options.intervalMs ?? 100;
    if (this.#timer === null && interval > 0) {
      this.#timer = setInterval(() => this.render(), interval);
      this.#timer.unref();
    }
  }

  /** Renames the current task (a restore moving from state to state), keeping its clock. */
  label(label: string): void {
    if (this.#task) this.#task.label = label;
  }

  update(done: number, total?: number, unit?: string): void {
    if (!this.#task) return;
    this.#task.done = done;
    if (total !== undefined) this.#task.total = total;
    if (unit !== undefined) this.#task.unit = unit;
  }

  /** Ends the current task and removes its line. */
  finish(): void {
    this.clear();
    this.#task = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Takes the line off the screen (before other output); the next render puts it back. */
  clear(): void {
    if (!this.#drawn) return;
    this.#options.write('\r\x1b[2K');
    this.#drawn = false;
  }

  /** Draws the current task if it has run long enough. */
  render(): void {
    const task = this.#task;
    if (!task) return;
    const elapsed = this.#now() - task.startedAt;
    if (elapsed < (this.#options.delayMs ?? 1000)) return;
    const columns = Math.max(20, (this.#options.columns?.() ?? 80) - 1);
    this.#options.write(`\r${progressText(task, elapsed).slice(0, columns)}\x1b[K`);
    this.#drawn = true;
  }
}

/** `restore: spawning [#########-----------] 4,000/10,000 shapes 40%  2.1 s` */
export function progressText(task: Omit<Task, 'startedAt'>, elapsedMs: number): string {
  const seconds = `${(elapsedMs / 1000).toFixed(1)} s`;
  const unit = task.unit ? ` ${task.unit}` : '';
  if (task.done === null) return `${task.label}  ${seconds}`;
  if (task.total === null || task.total <= 0) return `${task.label}  ${task.done.toLocaleString('en-US')}${unit}  ${seconds}`;
  const fraction = Math.min(1, task.done / task.total);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const amount = task.unit === 'bytes' ? `${megabytes(task.done)}/${megabytes(task.total)} MB` : `${task.done.toLocaleString('en-US')}/${task.total.toLocaleString('en-US')}${unit}`;
  return `${task.label} ${bar} ${amount} ${Math.floor(fraction * 100)}%  ${seconds}`;
}

function megabytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}
