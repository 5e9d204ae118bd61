import { spawn } from 'node:child_process';
import path from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { ScheduleEntry } from '../../shared/config.ts';
import { projectRoot } from '../../shared/paths.ts';

/** The CLI a scheduled job runs: the same `crm` a cron line or an Airflow task would call. */
export const CLI_PATH = path.join(projectRoot, 'cli', 'crm.ts');

export interface JobOutcome {
  schedule: string;
  command: string[];
  startedAt: string;
  seconds: number;
  exitCode: number | null;
  signal: string | null;
}

export class ScheduleConfigError extends Error {
  override name = 'ScheduleConfigError';
}

/** Validates every cron expression and time zone up front, so a typo fails at start, not at 2 a.m. */
export function checkSchedules(schedules: ScheduleEntry[]): void {
  const names = new Set<string>();
  for (const s of schedules) {
    if (names.has(s.name)) throw new ScheduleConfigError(`schedule "${s.name}" is defined twice`);
    names.add(s.name);
    try {
      new Cron(s.cron, { paused: true, ...(s.timezone ? { timezone: s.timezone } : {}) }).stop();
    } catch (error) {
      throw new ScheduleConfigError(
        `schedule "${s.name}": invalid cron expression "${s.cron}"${s.timezone ? ` or time zone "${s.timezone}"` : ''}: ${(error as Error).message}`,
      );
    }
  }
}

export function nextRuns(schedule: ScheduleEntry, count: number): string[] {
  const cron = new Cron(schedule.cron, { paused: true, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) });
  const runs = cron.nextRuns(count).map((d) => d.toISOString());
  cron.stop();
  return runs;
}

/** Runs one job as a child `crm` process; its own run lock, ledger and alerts apply. */
export function runJob(schedule: ScheduleEntry, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<JobOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_PATH, ...schedule.command], {
      cwd: projectRoot,
      env: { ...env, CRM_SCHEDULE: schedule.name },
      stdio: ['ignore', 'ignore', 'inherit'], // the child's JSON log lines go to our stderr
    });
    const finish = (exitCode: number | null, signal: string | null) => {
      const outcome: JobOutcome = {
        schedule: schedule.name,
        command: schedule.command,
        startedAt: new Date(started).toISOString(),
        seconds: (Date.now() - started) / 1000,
        exitCode,
        signal,
      };
      (exitCode === 0 ? log.info.bind(log) : log.warn.bind(log))(
        { event: 'job_finished', ...outcome },
        `schedule ${schedule.name}: crm ${schedule.command.join(' ')} exited ${exitCode ?? signal}`,
      );
      resolve(outcome);
    };
    child.on('error', (error) => {
      log.error(
        { event: 'job_error', schedule: schedule.name, err: error.message },
        `schedule ${schedule.name}: could not start: ${error.message}`,
      );
      finish(null, 'spawn-error');
    });
    child.on('exit', (code, signal) => finish(code, signal));
  });
}

export interface SchedulerHandle {
  /** Resolves when maxJobs jobs have finished (never, without maxJobs) or stop() was called and running jobs ended. */
  done: Promise<JobOutcome[]>;
  stop(): Promise<JobOutcome[]>;
}

/**
 * The built-in scheduler: one croner job per schedule entry. A job still running when its next
 * tick comes is not started twice (croner's protect); two different schedules that overlap are
 * serialised by the run lock (the second waits up to its --wait or exits 4, logged here).
 */
export function startScheduler(
  schedules: ScheduleEntry[],
  log: Logger,
  options: { maxJobs?: number; env?: NodeJS.ProcessEnv } = {},
): SchedulerHandle {
  checkSchedules(schedules);
  const outcomes: JobOutcome[] = [];
  const running = new Set<Promise<JobOutcome>>();
  let resolveDone!: (value: JobOutcome[]) => void;
  const done = new Promise<JobOutcome[]>((resolve) => (resolveDone = resolve));
  let stopping = false;
  const crons: Cron[] = [];
  const stop = async () => {
    stopping = true;
    for (const cron of crons) cron.stop();
    await Promise.all(running);
    resolveDone(outcomes);
    return outcomes;
  };
  for (const schedule of schedules) {
    crons.push(
      new Cron(
        schedule.cron,
        { protect: true, name: schedule.name, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) },
        async () => {
          if (stopping) return;
          if (options.maxJobs !== undefined && outcomes.length + running.size >= options.maxJobs) return;
          log.info(
            { event: 'job_started', schedule: schedule.name, command: schedule.command },
            `schedule ${schedule.name}: crm ${schedule.command.join(' ')}`,
          );
          const job = runJob(schedule, log, options.env);
          running.add(job);
          const outcome = await job;
          running.delete(job);
          outcomes.push(outcome);
          if (options.maxJobs !== undefined && outcomes.length >= options.maxJobs) void stop();
        },
      ),
    );
  }
  log.info(
    { event: 'scheduler_started', schedules: schedules.map((s) => ({ name: s.name, cron: s.cron, next: nextRuns(s, 1)[0] })) },
    `scheduler started with ${schedules.length} schedule(s)`,
  );
  return { done, stop };
}
