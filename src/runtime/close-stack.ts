/**
 * What a process opened, closed in reverse order. A failed or hung close is logged and the rest still
 * close, so a broken store never leaves a Temporal connection or a port open behind it.
 */
import type { Logger } from 'pino';

/** Raised after every step ran, when some failed; each failure was logged as it happened. */
export class CloseError extends AggregateError {
  override name = 'CloseError';
}

/** A close step that did not finish in its time. */
export class CloseTimeoutError extends Error {
  override name = 'CloseTimeoutError';
}

interface CloseStep {
  name: string;
  close: () => unknown;
  timeoutMs?: number;
}

/** Close steps run newest first, each once, whatever the others do. */
export class CloseStack {
  private readonly steps: CloseStep[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Adds a step that runs before every step added earlier; `timeoutMs` bounds how long it may take. */
  push(name: string, close: () => unknown, options: { timeoutMs?: number } = {}): void {
    if (this.closing) throw new Error(`cannot open ${name} while closing`);
    this.steps.push({ name, close, timeoutMs: options.timeoutMs });
  }

  /** Runs every step once, newest first; rejects with a CloseError at the end if any failed. */
  close(): Promise<void> {
    this.closing ??= this.run();
    return this.closing;
  }

  private async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of [...this.steps].reverse()) {
      try {
        await withTimeout(Promise.resolve().then(step.close), step.timeoutMs, step.name);
        this.logger.debug({ resource: step.name }, 'closed');
      } catch (error) {
        failures.push(error);
        this.logger.error({ err: error, resource: step.name }, 'failed to close');
      }
    }
    if (failures.length > 0) {
      throw new CloseError(failures, `${failures.length} of ${this.steps.length} resources failed to close`);
    }
  }
}

async function withTimeout(promise: Promise<unknown>, timeoutMs: number | undefined, name: string): Promise<void> {
  if (timeoutMs === undefined) {
    await promise;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CloseTimeoutError(`${name} did not close within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
