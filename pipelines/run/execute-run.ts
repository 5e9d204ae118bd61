import crypto from 'node:crypto';
import pRetry from 'p-retry';
import { sendAlert, type HookOutcome } from '../ledger/alerts.ts';
import { RunLedger, type RunStatus, type StepStatus } from '../ledger/ledger.ts';
import { acquireRunLock } from '../publish/run-lock.ts';
import { buildPath, warehouseLayout } from '../publish/layout.ts';
import { cleanUp, discardBuild, prepareBuild, publishBuild } from '../publish/versions.ts';
import { openWarehouse } from '../raw/warehouse-connection.ts';
import type { CrmConfig } from '../../shared/config.ts';
import { failpoint } from './failpoints.ts';
import { runLogger } from '../../shared/logger.ts';
import { runSteps } from './step-runner.ts';
import { StepFailedError, type PipelineStep, type StepResult } from './steps.ts';

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 18)}-${crypto.randomBytes(3).toString('hex')}`;
}

export interface RunRequest {
  /** The published warehouse file (what the API reads). */
  publishedPath: string;
  landingDir: string;
  /** The crm command this run executes, for the ledger ('run', 'extract', 'backfill', ...). */
  command: string;
  args: string[];
  steps: PipelineStep[];
  config: CrmConfig;
  /** Wait this long for another run's lock before giving up (RunLockedError); default 0. */
  waitSeconds?: number;
  interactive?: boolean;
  runId?: string;
}

export interface StepSummary {
  id: string;
  kind: string;
  status: StepStatus;
  seconds: number;
  attempts: number;
  rowsIn: number | null;
  rowsOut: number | null;
  rejects: number | null;
  error: string | null;
  skipped: string | null;
  output?: unknown;
}

export interface RunSummary {
  runId: string;
  command: string;
  status: Exclude<RunStatus, 'running' | 'interrupted'>;
  published: boolean;
  publishedPath: string;
  startedAt: string;
  seconds: number;
  steps: StepSummary[];
  /** The first fatal error, or the failures that made the run partial. */
  error: string | null;
  /** The error object of the fatal failure (not serialised): the CLI maps it to an exit code. */
  failure?: unknown;
  alerts: HookOutcome[];
  cleanedUp: { versionsRemoved: string[]; buildsRemoved: string[] };
}

/**
 * Executes one run: take the warehouse lock, copy the published version into a private build,
 * run every step against the build (recording each in the ledger), publish the build atomically
 * only if the run passed, then clean up and alert. A run killed at any point leaves the published
 * version as it was; the next run marks it interrupted and removes its build.
 */
export async function executeRun(request: RunRequest): Promise<RunSummary> {
  const runId = request.runId ?? newRunId();
  const log = runLogger(runId);
  const layout = warehouseLayout(request.publishedPath);
  const ledger = new RunLedger(layout.ledger);
  const started = Date.now();
  const lock = await acquireRunLock(layout.lock, { runId, command: request.command }, { waitSeconds: request.waitSeconds ?? 0 });
  const summary: RunSummary = {
    runId,
    command: request.command,
    status: 'failed',
    published: false,
    publishedPath: layout.published,
    startedAt: new Date(started).toISOString(),
    seconds: 0,
    steps: [],
    error: null,
    alerts: [],
    cleanedUp: { versionsRemoved: [], buildsRemoved: [] },
  };
  let build: string | null = null;
  try {
    // Holding the lock, any run still marked running died without finishing (kill -9, crash).
    const orphans = await ledger.runningRuns();
    if (orphans.length > 0) {
      await ledger.markInterrupted(
        orphans.map((o) => o.runId),
        `interrupted: its process (pid ${orphans.map((o) => o.pid).join(', ')}) died before the run finished; nothing of it was published`,
      );
      log.warn({ event: 'runs_interrupted', runs: orphans.map((o) => o.runId) }, `marked ${orphans.length} dead run(s) interrupted`);
    }
    summary.cleanedUp = cleanUp(layout, request.config.publish.retention);
    await ledger.startRun({ runId, command: request.command, args: request.args, pid: process.pid });
    log.info(
      { event: 'run_started', command: request.command, args: request.args, steps: request.steps.map((s) => s.id) },
      `run ${runId} started`,
    );
    prepareSteps(request.steps, { runId, warehousePath: buildPath(layout, runId), publishedPath: layout.published }, log);
    build = await prepareBuild(layout, runId);

    const partialErrors: string[] = [];
    let fatal: { step: string; error: unknown } | null = null;
    await runSteps(
      request.steps.map((step) => ({
        title: step.title,
        run: async (report: (progress: string) => void) => {
          const outcome = await runOneStep(
            step,
            {
              runId,
              warehousePath: build!,
              publishedPath: layout.published,
              landingDir: request.landingDir,
              log: log.child({ step: step.id }),
              report,
            },
            ledger,
          );
          summary.steps.push(outcome.summary);
          if (outcome.error === undefined) return;
          if (step.onFailure === 'partial') {
            partialErrors.push(`${step.id}: ${outcome.summary.error}`);
            report(`FAILED (run continues, marked partial): ${outcome.summary.error}`);
            return;
          }
          fatal = { step: step.id, error: outcome.error };
          throw outcome.error;
        },
      })),
      log,
      { interactive: request.interactive },
    ).catch((error: unknown) => {
      if (!fatal) fatal = { step: 'run', error };
    });
    await cleanUpSteps(request.steps, log);

    const failedFatally = fatal as { step: string; error: unknown } | null;
    if (failedFatally) {
      summary.status = 'failed';
      summary.failure = failedFatally.error;
      summary.error = `${failedFatally.step}: ${errorText(failedFatally.error)}`;
    } else if (partialErrors.length > 0 && partialErrors.length === request.steps.filter((s) => s.onFailure === 'partial').length) {
      // Every source failed: nothing new was loaded, so this is a failure, not a partial run.
      summary.status = 'failed';
      summary.error = partialErrors.join('\n');
      summary.failure = new Error(summary.error);
    } else {
      summary.status = partialErrors.length > 0 ? 'partial' : 'succeeded';
      if (partialErrors.length > 0) summary.error = partialErrors.join('\n');
      const publish = summary.status === 'succeeded' || request.config.publish.publishPartial;
      if (publish) {
        await publishStep(runId, build, layout, ledger, request.config.publish.retention, log, summary);
        build = null;
      } else {
        log.warn({ event: 'publish_withheld' }, 'run is partial and publish.publishPartial is false: nothing published');
      }
    }
  } catch (error) {
    // Infrastructure failure (ledger, build copy, publish): the run failed; the published version stands.
    summary.status = 'failed';
    summary.failure = error;
    summary.error = summary.error ?? errorText(error);
  } finally {
    await cleanUpSteps(request.steps, log);
    if (build) discardBuild(build, layout);
    summary.seconds = (Date.now() - started) / 1000;
    try {
      await ledger.finishRun(runId, { status: summary.status, published: summary.published, error: summary.error });
    } catch (error) {
      log.error({ event: 'ledger_error', err: errorText(error) }, 'could not record the run outcome in the ledger');
    }
    if (summary.status !== 'succeeded') {
      summary.alerts = await sendAlert(
        request.config.alerts,
        {
          kind: summary.status === 'partial' ? 'run_partial' : 'run_failed',
          summary:
            `crm ${request.command}: run ${runId} ${summary.status}${summary.published ? ' (published)' : ' (nothing published)'}: ${summary.error ?? ''}`.slice(
              0,
              2000,
            ),
          runId,
          at: new Date().toISOString(),
          details: { status: summary.status, published: summary.published, steps: summary.steps.map(({ output: _o, ...s }) => s) },
        },
        log,
      );
    }
    lock.release();
    log.info(
      { event: 'run_finished', status: summary.status, published: summary.published, seconds: summary.seconds },
      `run ${runId} ${summary.status}`,
    );
  }
  return summary;
}

/** Each step's preparation before the build copy exists (e.g. dbt's start-up and parse); a failing one is logged, never fatal. */
function prepareSteps(
  steps: PipelineStep[],
  context: { runId: string; warehousePath: string; publishedPath: string },
  log: ReturnType<typeof runLogger>,
): void {
  for (const step of steps) {
    try {
      step.prepare?.(context);
    } catch (error) {
      log.warn(
        { event: 'step_prepare_error', step: step.id, err: errorText(error) },
        `${step.id}: preparation failed: ${errorText(error)}`,
      );
    }
  }
}

/** Each step's cleanup (e.g. the run's dbt session ends); a failing cleanup is logged, never fatal. */
async function cleanUpSteps(steps: PipelineStep[], log: ReturnType<typeof runLogger>): Promise<void> {
  for (const step of steps) {
    try {
      await step.cleanup?.();
    } catch (error) {
      log.warn({ event: 'step_cleanup_error', step: step.id, err: errorText(error) }, `${step.id}: cleanup failed: ${errorText(error)}`);
    }
  }
}

async function runOneStep(
  step: PipelineStep,
  context: Parameters<PipelineStep['run']>[0],
  ledger: RunLedger,
): Promise<{ summary: StepSummary; error?: unknown }> {
  const started = Date.now();
  await ledger.startStep(context.runId, { stepId: step.id, kind: step.kind });
  let attempts = 0;
  let result: StepResult | undefined;
  let failure: unknown;
  try {
    result = await pRetry(
      async () => {
        attempts += 1;
        return step.run(context);
      },
      {
        retries: step.retries ?? 0,
        minTimeout: (step.retryDelaySeconds ?? 1) * 1000,
        factor: 2,
        randomize: false,
        onFailedAttempt: (error) => {
          if (error.retriesLeft > 0) {
            context.log.warn(
              { event: 'step_retry', attempt: error.attemptNumber, retriesLeft: error.retriesLeft, err: error.message },
              `${step.id}: attempt ${error.attemptNumber} failed, retrying: ${error.message}`,
            );
            context.report(`attempt ${error.attemptNumber} failed (${error.message}); retrying`);
          }
        },
      },
    );
  } catch (error) {
    failure = error;
  }
  const partial = failure instanceof StepFailedError ? failure.result : undefined;
  const outcome = result ?? partial ?? {};
  const error = failure === undefined ? null : errorText(failure);
  const status: StepStatus = failure !== undefined ? 'failed' : result?.skipped ? 'skipped' : 'succeeded';
  if (failure !== undefined)
    context.log.error({ event: 'step_error', attempts, err: error }, `${step.id} failed after ${attempts} attempt(s): ${error}`);
  if (result?.skipped) context.report(`skipped: ${result.skipped}`);
  await ledger.finishStep(context.runId, step.id, {
    status,
    attempts,
    rowsIn: outcome.rowsIn ?? null,
    rowsOut: outcome.rowsOut ?? null,
    rejects: outcome.rejects ?? null,
    error: error ?? (result?.skipped ? `skipped: ${result.skipped}` : null),
    ...(outcome.detail !== undefined ? { detail: outcome.detail } : {}),
    ...(outcome.dbtResults ? { dbtResults: outcome.dbtResults } : {}),
  });
  const summary: StepSummary = {
    id: step.id,
    kind: step.kind,
    status,
    seconds: (Date.now() - started) / 1000,
    attempts,
    rowsIn: outcome.rowsIn ?? null,
    rowsOut: outcome.rowsOut ?? null,
    rejects: outcome.rejects ?? null,
    error,
    skipped: result?.skipped ?? null,
    ...(outcome.output !== undefined ? { output: outcome.output } : {}),
  };
  return failure === undefined ? { summary } : { summary, error: failure instanceof StepFailedError ? failure.cause : failure };
}

async function publishStep(
  runId: string,
  build: string,
  layout: ReturnType<typeof warehouseLayout>,
  ledger: RunLedger,
  retention: number,
  log: ReturnType<typeof runLogger>,
  summary: RunSummary,
): Promise<void> {
  const started = Date.now();
  await ledger.startStep(runId, { stepId: 'publish', kind: 'publish' });
  try {
    // The published warehouse carries the history up to this publish (ops.pipeline_runs, ...).
    const warehouse = await openWarehouse(build);
    try {
      await ledger.mirrorInto(warehouse.connection);
    } finally {
      warehouse.close();
    }
    await failpoint('publish:before-rename', log);
    const version = await publishBuild(layout, runId, build, retention);
    summary.published = true;
    const after = cleanUp(layout, retention);
    summary.cleanedUp = {
      versionsRemoved: [...summary.cleanedUp.versionsRemoved, ...after.versionsRemoved],
      buildsRemoved: [...summary.cleanedUp.buildsRemoved, ...after.buildsRemoved],
    };
    await ledger.finishStep(runId, 'publish', { status: 'succeeded', attempts: 1, detail: { ...version, cleanedUp: summary.cleanedUp } });
    summary.steps.push({
      id: 'publish',
      kind: 'publish',
      status: 'succeeded',
      seconds: (Date.now() - started) / 1000,
      attempts: 1,
      rowsIn: null,
      rowsOut: null,
      rejects: null,
      error: null,
      skipped: null,
    });
    log.info({ event: 'published', path: layout.published, previous: version.previous }, `published run ${runId} to ${layout.published}`);
  } catch (error) {
    await ledger.finishStep(runId, 'publish', { status: 'failed', attempts: 1, error: errorText(error) }).catch(() => undefined);
    throw error;
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
