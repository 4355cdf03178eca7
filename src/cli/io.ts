/**
 * Where the CLI reads and writes. Results go to stdout (exactly one JSON document with --json);
 * progress and errors go to stderr, so a script can pipe stdout and still see what happens.
 */
export interface WritableTty {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: WritableTty;
  stderr: WritableTty;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Called with a function that stops a long-running command (tail) on SIGINT/SIGTERM. */
  onInterrupt(stop: () => void): void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(stop) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  };
}

/** Writes a command's result: JSON, or the human text. */
export function printResult(io: CliIo, json: boolean, document: unknown, human: () => string): void {
  io.stdout.write(json ? `${JSON.stringify(document)}\n` : `${human()}\n`);
}

/** A line on stderr. */
export function note(io: CliIo, line: string): void {
  io.stderr.write(`${line}\n`);
}

/**
 * Progress of a batch on stderr: a bar redrawn in place on a terminal (`[#####-----] 50/100`), and
 * plain lines otherwise (about twenty for the whole batch, so a log stays readable).
 */
export class ProgressReporter {
  private readonly tty: boolean;
  private readonly step: number;
  private lastLine = 0;

  constructor(
    private readonly io: CliIo,
    private readonly total: number,
    private readonly label: string,
  ) {
    this.tty = io.stderr.isTTY === true;
    this.step = Math.max(1, Math.ceil(total / 20));
  }

  update(done: number): void {
    if (this.tty) {
      this.io.stderr.write(`\r${progressBar(done, this.total)}`);
      if (done >= this.total) this.io.stderr.write('\n');
    } else if (done - this.lastLine >= this.step || done >= this.total) {
      this.lastLine = done;
      note(this.io, `${this.label} ${done}/${this.total}`);
    }
  }

  /** A line that must not be drawn over by the bar. */
  note(line: string): void {
    note(this.io, this.tty ? `\r\x1b[2K${line}` : line);
  }
}

/** `[#####-----] 50/100`: `width` cells, filled in proportion. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}
