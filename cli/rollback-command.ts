import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { configOption, execute, jsonOption, landingOption, waitOption, warehouseOption, type RunCommandOptions } from './run-commands.ts';
import { warehouseLayout } from '../pipelines/publish/layout.ts';
import { restoreVersionStep } from '../pipelines/publish/restore-step.ts';
import { listVersions, type KeptVersion } from '../pipelines/publish/versions.ts';

function describeVersion(v: KeptVersion): string {
  const mb = (v.bytes / 1024 / 1024).toFixed(1);
  return `${v.name}  built by ${v.builtBy ?? 'unknown run'}${v.builtByCommand ? ` (${v.builtByCommand})` : ''}${v.builtAt ? ` at ${v.builtAt}` : ''}  replaced by ${v.replacedBy}  ${mb} MB`;
}

/** Picks a kept version by file name, by the run that built it, or by the run that replaced it. */
function pickVersion(versions: KeptVersion[], wanted: string | undefined): KeptVersion {
  if (versions.length === 0)
    throw new UsageError('no previous version is kept to roll back to (publish.retention in crm.config.json keeps them; 0 keeps none)');
  if (!wanted) return versions[0]!;
  const found = versions.find((v) => v.name === wanted || v.name === `${wanted}.duckdb` || v.builtBy === wanted || v.replacedBy === wanted);
  if (!found) throw new UsageError(`no kept version matches ${wanted}; kept: ${versions.map((v) => v.name).join(', ')} (see crm versions)`);
  return found;
}

/** `crm versions` (what can be rolled back to) and `crm rollback` (publish one of them again). */
export function registerRollbackCommands(program: Command): void {
  program
    .command('versions')
    .description('List the previous published versions kept for rollback, newest first (publish.retention in crm.config.json).')
    .addOption(warehouseOption())
    .addOption(jsonOption())
    .action(async (opts: { warehouse: string; json?: boolean }) => {
      const versions = await listVersions(warehouseLayout(path.resolve(opts.warehouse)));
      printResult(Boolean(opts.json), { versions }, () =>
        versions.length ? versions.map(describeVersion).join('\n') : 'no previous versions kept',
      );
    });

  program
    .command('rollback')
    .description(
      'Publish a kept previous version again (default: the one the last publish replaced). Runs like any run: locked, recorded in the ledger, atomic; the version being replaced is kept, so a rollback can be undone by another.',
    )
    .option('--to <version>', 'a file name from `crm versions`, the run id that built it, or the run id that replaced it')
    .addOption(landingOption().hideHelp())
    .addOption(warehouseOption())
    .addOption(configOption())
    .addOption(waitOption())
    .addOption(jsonOption())
    .action(async (opts: RunCommandOptions & { to?: string }) => {
      const version = pickVersion(await listVersions(warehouseLayout(path.resolve(opts.warehouse))), opts.to);
      await execute('rollback', ['--to', version.name], opts, () => [restoreVersionStep(version)]);
    });
}
