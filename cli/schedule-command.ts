import { Command, InvalidArgumentError } from 'commander';
import { EXIT, ExitCodeError, UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { configOption, jsonOption, readConfig } from './run-commands.ts';
import { ScheduleConfigError, checkSchedules, nextRuns, startScheduler } from '../pipelines/schedule/scheduler.ts';
import { logger } from '../shared/logger.ts';

const count = (raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a whole number >= 1.');
  return value;
};

/** `crm schedule`: the built-in scheduler over crm.config.json's "schedules". */
export function registerScheduleCommand(program: Command): void {
  program
    .command('schedule')
    .description(
      'Run the built-in scheduler: each crm.config.json "schedules" entry runs its crm command on its cron expression (croner) until stopped (SIGINT/SIGTERM wait for running jobs).',
    )
    .option('--list', 'print each schedule and its next run times, then exit')
    .option('--max-jobs <n>', 'exit after this many jobs have finished (for tests and one-off catch-up)', count)
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts: { list?: boolean; maxJobs?: number; config: string; json?: boolean }) => {
      const config = readConfig(opts.config);
      try {
        checkSchedules(config.schedules);
      } catch (error) {
        if (error instanceof ScheduleConfigError) throw new UsageError(error.message);
        throw error;
      }
      if (opts.list) {
        const schedules = config.schedules.map((s) => ({ ...s, next: nextRuns(s, 3) }));
        printResult(Boolean(opts.json), { schedules }, () =>
          schedules.length
            ? schedules
                .map((s) => `${s.name.padEnd(16)} ${s.cron.padEnd(16)} crm ${s.command.join(' ')}  next: ${s.next.join(', ')}`)
                .join('\n')
            : `no schedules in ${opts.config}`,
        );
        return;
      }
      if (config.schedules.length === 0) throw new UsageError(`no "schedules" in ${opts.config}: nothing to run`);
      const scheduler = startScheduler(config.schedules, logger.child({ scheduler: true }), {
        ...(opts.maxJobs ? { maxJobs: opts.maxJobs } : {}),
      });
      const onSignal = () => void scheduler.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const outcomes = await scheduler.done;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      printResult(
        Boolean(opts.json),
        { jobs: outcomes },
        () =>
          outcomes
            .map((o) => `${o.schedule}: crm ${o.command.join(' ')} exited ${o.exitCode ?? o.signal} after ${o.seconds.toFixed(1)}s`)
            .join('\n') || 'no job ran',
      );
      if (outcomes.some((o) => o.exitCode !== 0))
        throw new ExitCodeError(EXIT.stepFailed, 'a scheduled job failed (see its exit code above)');
    });
}
