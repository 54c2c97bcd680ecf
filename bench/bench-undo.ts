/**
 * What a bench run made and must undo (processes, databases, folders, Redis keys), newest first.
 * Run once, by the run's end or by a signal: Ctrl-C leaves nothing behind.
 */
export class Undo {
  private readonly steps: (() => Promise<void>)[] = [];

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async runAll(): Promise<void> {
    while (this.steps.length) {
      await this.steps.pop()!().catch((err: Error) => console.error(`bench: clean-up step failed: ${err.message}`));
    }
  }

  /** SIGINT/SIGTERM undo everything, then exit 130. */
  onSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`\nbench: ${signal}, stopping processes and removing databases…`);
        void this.runAll().finally(() => process.exit(130));
      });
    }
  }
}
