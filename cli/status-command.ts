import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { EXIT, ExitCodeError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { configOption, jsonOption, readConfig, warehouseOption } from './run-commands.ts';
import { configuredSources } from '../pipelines/extract/sources.ts';
import { sendAlert } from '../pipelines/ledger/alerts.ts';
import { warehouseStatus, type FreshnessEntry } from '../pipelines/ledger/freshness.ts';
import { RunLedger, type RunRecord } from '../pipelines/ledger/ledger.ts';
import { warehouseLayout } from '../pipelines/publish/layout.ts';
import { logger } from '../shared/logger.ts';

const count = (raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a whole number >= 1.');
  return value;
};

function runLine(run: RunRecord): string {
  return `${run.runId}  ${run.command.padEnd(9)} ${run.status.padEnd(11)} ${run.published ? 'published' : '-        '}  ${run.startedAt}  ${run.seconds === null ? '' : `${run.seconds.toFixed(1)}s`}${run.error ? `  ${run.error.split('\n')[0]}` : ''}`;
}

function freshnessLine(kind: string, e: FreshnessEntry): string {
  return `  ${kind} ${e.name.padEnd(24)} ${e.stale ? 'STALE' : 'fresh'}  ${e.lastAt ?? 'never'}  ${e.ageHours === null ? '' : `${e.ageHours} h`} (limit ${e.maxAgeHours} h)`;
}

/** `crm status` (last runs, freshness, alerts on stale) and `crm history` (runs, a run's steps and dbt results). */
export function registerStatusCommands(program: Command): void {
  program
    .command('status')
    .description(
      'Show the last runs and the freshness of each source and mart against crm.config.json limits; alert hooks fire when something is stale or the last run failed.',
    )
    .option('--limit <n>', 'runs to show', count, 5)
    .option('--no-alert', 'do not call the alert hooks')
    .option('--check', 'exit 1 when a source or mart is stale or the last run failed (for monitors)')
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(jsonOption())
    .action(async (opts: { limit: number; alert: boolean; check?: boolean; warehouse: string; config: string; json?: boolean }) => {
      const config = readConfig(opts.config);
      const layout = warehouseLayout(path.resolve(opts.warehouse));
      const status = await warehouseStatus({
        publishedPath: layout.published,
        ledger: new RunLedger(layout.ledger),
        config,
        sourceNames: configuredSources().map((s) => s.name),
        limit: opts.limit,
      });
      const alerts =
        opts.alert && status.unhealthy
          ? await sendAlert(
              config.alerts,
              { kind: 'stale', summary: status.problems.join('; ').slice(0, 2000), at: new Date().toISOString(), details: status },
              logger,
            )
          : [];
      printResult(Boolean(opts.json), { ...status, alerts }, () =>
        [
          `Warehouse ${status.warehouse}${status.published ? '' : ' (nothing published yet)'}`,
          'Last runs:',
          ...(status.lastRuns.length ? status.lastRuns.map((r) => `  ${runLine(r)}`) : ['  none']),
          'Freshness:',
          ...status.sources.map((s) => freshnessLine('source', s)),
          ...status.marts.map((m) => freshnessLine('mart  ', m)),
          ...(status.problems.length ? ['Problems:', ...status.problems.map((p) => `  ${p}`)] : ['All fresh.']),
        ].join('\n'),
      );
      if (opts.check && status.unhealthy) throw new ExitCodeError(EXIT.stepFailed, status.problems.join('; '));
    });

  program
    .command('history')
    .description("List past runs from the ledger, or one run's steps and dbt results (--run).")
    .option('--limit <n>', 'runs to list', count, 20)
    .option('--run <id>', "show this run's steps (timings, rows in/out, rejects, errors) and dbt results")
    .addOption(warehouseOption())
    .addOption(jsonOption())
    .action(async (opts: { limit: number; run?: string; warehouse: string; json?: boolean }) => {
      const ledger = new RunLedger(warehouseLayout(path.resolve(opts.warehouse)).ledger);
      if (!opts.run) {
        const runs = await ledger.recentRuns(opts.limit);
        printResult(Boolean(opts.json), { runs }, () => (runs.length ? runs.map(runLine).join('\n') : 'no runs recorded yet'));
        return;
      }
      const run = (await ledger.recentRuns(100_000)).find((r) => r.runId === opts.run);
      if (!run) throw new ExitCodeError(EXIT.usage, `no run ${opts.run} in the ledger`);
      const steps = await ledger.stepsOf(run.runId);
      const dbt = await ledger.dbtResultsOf(run.runId);
      printResult(
        Boolean(opts.json),
        { run, steps: steps.map((s) => ({ ...s, detail: s.detail ? JSON.parse(s.detail) : null })), dbtResults: dbt },
        () =>
          [
            runLine(run),
            ...steps.map(
              (s) =>
                `  ${s.stepId.padEnd(28)} ${s.status.padEnd(9)} ${(s.seconds ?? 0).toFixed(1).padStart(6)}s in ${s.rowsIn ?? '-'} out ${s.rowsOut ?? '-'} rejects ${s.rejects ?? '-'} attempts ${s.attempts}${s.error ? `\n      ${s.error.split('\n').join('\n      ')}` : ''}`,
            ),
            ...(dbt.length
              ? [
                  `  dbt: ${dbt.filter((d) => d.status === 'success' || d.status === 'pass').length}/${dbt.length} passed`,
                  ...dbt
                    .filter((d) => !['success', 'pass', 'skipped'].includes(d.status))
                    .map((d) => `    ${d.uniqueId} ${d.status}: ${d.message ?? ''}`),
                ]
              : []),
          ].join('\n'),
      );
    });
}
