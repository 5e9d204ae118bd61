import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { EXIT, ExitCodeError, UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { openWarehouse, type WarehouseHandle } from '../pipelines/raw/warehouse-connection.ts';
import { listSourceStates, resetSourceState, type SourceStateReport } from '../pipelines/raw/source-state.ts';
import { warehouseLayout } from '../pipelines/publish/layout.ts';
import { acquireRunLock } from '../pipelines/publish/run-lock.ts';
import { waitOption } from './run-commands.ts';
import { warehouseOption } from './options.ts';

/**
 * `crm state`: inspect and reset the extraction state each source keeps in the warehouse
 * (watermarks and cursors in raw._source_state, file manifests in raw._file_manifest).
 */
export function registerStateCommand(program: Command): void {
  const state = program.command('state').description('Inspect or reset per-source extraction state: watermarks, cursors, file manifests.');

  state
    .command('show')
    .description('Show the committed state of every source, or of one source.')
    .argument('[source]', 'source name (all sources when omitted)')
    .addOption(warehouseOption('DuckDB warehouse file'))
    .option('--json', 'print the result as one JSON document on stdout')
    .action(async (source: string | undefined, opts: { warehouse: string; json?: boolean }) => {
      const warehousePath = path.resolve(opts.warehouse);
      // Read-only: it can run beside the API, which holds the file open read-only too.
      const reports = await withWarehouse(warehousePath, (connection) => listSourceStates(connection, source), { readOnly: true });
      if (source !== undefined && reports.length === 0 && !opts.json) {
        process.stdout.write(`${source}: no state (never loaded, or reset)\n`);
        return;
      }
      printResult(
        Boolean(opts.json),
        { warehouse: warehousePath, sources: reports },
        () => reports.map(describeState).join('\n') || 'no source has state yet',
      );
    });

  state
    .command('reset')
    .description(
      "Forget a source's watermark/cursor and file manifest; its next run re-reads everything (upserts keep raw free of duplicates).",
    )
    .argument('<source>', 'source name')
    .addOption(warehouseOption('DuckDB warehouse file'))
    .addOption(waitOption())
    .option('--json', 'print the result as one JSON document on stdout')
    .action(async (source: string, opts: { warehouse: string; wait: number; json?: boolean }) => {
      const warehousePath = path.resolve(opts.warehouse);
      if (!fs.existsSync(warehousePath)) throw new UsageError(`warehouse not found: ${warehousePath}`);
      // A run builds in a copy of the published file and publishes it by rename: a reset written
      // meanwhile would be overwritten, so it takes the run lock (exit 4 while a run holds it).
      const lock = await acquireRunLock(
        warehouseLayout(warehousePath).lock,
        { runId: `state-reset-${process.pid}-${Date.now()}`, command: `state reset ${source}` },
        { waitSeconds: opts.wait },
      );
      let removed: Awaited<ReturnType<typeof resetSourceState>>;
      try {
        removed = await withWarehouse(warehousePath, (connection) => resetSourceState(connection, source));
      } finally {
        lock.release();
      }
      printResult(Boolean(opts.json), { source, ...removed }, () =>
        removed.stateRows + removed.files === 0
          ? `${source}: had no state; nothing to reset`
          : `${source}: state reset (${removed.stateRows} cursor row, ${removed.files} manifest file(s) forgotten); the next run re-reads it in full`,
      );
    });
}

async function withWarehouse<T>(
  warehousePath: string,
  work: (connection: WarehouseHandle['connection']) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  if (!fs.existsSync(warehousePath)) throw new UsageError(`warehouse not found: ${warehousePath}`);
  let warehouse: WarehouseHandle;
  try {
    warehouse = await openWarehouse(warehousePath, options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // DuckDB lets one process write a file while no other holds it; the API keeps it open read-only.
    if (/Could not set lock/i.test(message)) {
      throw new ExitCodeError(
        EXIT.locked,
        `${warehousePath} is open in another process (the API lets go after CRM_API_IDLE_CLOSE_MS without a query, default 5 minutes; or stop it), so its state cannot be changed now: ${message.split('\n')[0]}`,
      );
    }
    throw error;
  }
  try {
    return await work(warehouse.connection);
  } finally {
    warehouse.close();
  }
}

function describeState(report: SourceStateReport): string {
  const lines = [`${report.source} (${report.kind ?? 'unknown'}): last batch ${report.batchId ?? '-'} at ${report.updatedAt ?? '-'}`];
  if (report.cursor !== null) lines.push(`  cursor: ${JSON.stringify(report.cursor)}`);
  for (const file of report.files)
    lines.push(`  file ${file.path}: ${file.records} records, sha256 ${file.sha256.slice(0, 12)}…, ${file.sizeBytes} bytes`);
  return lines.join('\n');
}
