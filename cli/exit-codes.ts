/** Exit codes of the `crm` CLI, documented in docs/operations.md: schedulers branch on them. */
export const EXIT = {
  ok: 0,
  /** A pipeline step failed: a dbt model or test, a source that could not be loaded. Nothing was published. */
  stepFailed: 1,
  /** The command line or configuration is wrong (unknown option, bad value, missing secret, bad crm.config.json). */
  usage: 2,
  /** The environment is not usable: Python venv could not be created, dependencies missing. */
  environment: 3,
  /** Another run holds the warehouse lock (and --wait ran out): nothing was done; retry later. */
  locked: 4,
  /** Partial run: some sources failed (after retries) while the rest loaded and dbt passed. Published only when publish.publishPartial is true. */
  partial: 5,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Ends a command with a given exit code after it has printed its own result. */
export class ExitCodeError extends Error {
  override name = 'ExitCodeError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}
