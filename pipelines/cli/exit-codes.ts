/** Exit codes of the `crm` CLI, documented in the README: schedulers branch on them. */
export const EXIT = {
  ok: 0,
  /** A pipeline step failed: a dbt model or test, a source that could not be loaded. */
  stepFailed: 1,
  /** The command line or configuration is wrong (unknown option, bad value, missing secret). */
  usage: 2,
  /** The environment is not usable: Python venv could not be created, dependencies missing. */
  environment: 3,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}
