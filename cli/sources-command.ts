import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { EXIT, ExitCodeError, UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { jsonOption, landingOption } from './options.ts';
import { configuredSources, findSource } from '../pipelines/extract/sources.ts';
import { extractSource, type ExtractSummary } from '../pipelines/extract/run-extract.ts';
import { SourceUnavailableError } from '../pipelines/extract/source-contract.ts';
import { openWarehouse } from '../pipelines/raw/warehouse-connection.ts';
import { inferMapping } from '../pipelines/extract/mapped/infer-mapping.ts';
import { MAPPING_SCHEMA_FILE, mappingJsonSchema, presetNames } from '../pipelines/extract/mapped/mapping-schema.ts';

/**
 * `crm sources`: what the configured sources are, and what a source would load right now. `check`
 * loads the source into a throwaway warehouse in a temporary folder (every file, as if never seen),
 * prints what was read, what would be quarantined and why, and removes it: the real warehouse and
 * the source's state are not touched.
 */
export function registerSourcesCommand(program: Command): void {
  const sources = program.command('sources').description('List the configured sources, or check what one would load (writes nothing).');

  sources
    .command('list')
    .description('List every configured source: name, kind, what it reads, whether it may be absent.')
    .addOption(jsonOption())
    .action((opts: { json?: boolean }) => {
      const list = configuredSources().map((s) => ({
        name: s.name,
        kind: s.kind,
        family: s.family,
        description: s.description,
        tables: s.records.map((r) => r.table),
      }));
      printResult(Boolean(opts.json), { sources: list }, () =>
        list
          .map((s) => `${s.name.padEnd(16)} ${s.kind.padEnd(8)} ${s.description}\n${' '.repeat(26)}-> raw.${s.tables.join(', raw.')}`)
          .join('\n'),
      );
    });

  sources
    .command('infer')
    .description(
      'Propose a draft mapping for an export from its header and sample rows: encoding, delimiter, column types and date formats, likely canonical fields. Prints YAML to edit (or --json).',
    )
    .argument('<file>', 'an export file (CSV, TSV, whitespace-separated log; any supported encoding)')
    .addOption(jsonOption())
    .action((file: string, opts: { json?: boolean }) => {
      if (!fs.existsSync(file)) throw new UsageError(`file not found: ${file}`);
      const inferred = inferMapping(path.resolve(file));
      if (opts.json) printResult(true, inferred, () => '');
      else process.stdout.write(inferred.draft.endsWith('\n') ? inferred.draft : `${inferred.draft}\n`);
    });

  sources
    .command('schema')
    .description(
      `Print the JSON Schema of mapping files (for editors), or write it with --write (${path.relative(process.cwd(), MAPPING_SCHEMA_FILE)}). Presets: ${presetNames().join(', ')}.`,
    )
    .option('--write', 'write the schema file instead of printing it')
    .action((opts: { write?: boolean }) => {
      const text = JSON.stringify(mappingJsonSchema(), null, 2) + '\n';
      if (opts.write) {
        fs.mkdirSync(path.dirname(MAPPING_SCHEMA_FILE), { recursive: true });
        fs.writeFileSync(MAPPING_SCHEMA_FILE, text);
      } else process.stdout.write(text);
    });

  sources
    .command('check')
    .description(
      'Read a source as the next run would (every file, as if new) into a throwaway warehouse: print per table what loads and what is quarantined with reasons. Exit 0 when nothing is rejected, 1 when something is, 2 for an unknown source.',
    )
    .argument('<source>', 'source name (see `crm sources list`)')
    .addOption(landingOption())
    .option(
      '--samples <n>',
      'rejected records to show',
      (raw) => {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0) throw new UsageError('--samples must be a whole number >= 0');
        return n;
      },
      20,
    )
    .addOption(jsonOption())
    .action(async (name: string, opts: { landing: string; samples: number; json?: boolean }) => {
      let source;
      try {
        source = findSource(name);
      } catch (error) {
        if (error instanceof SourceUnavailableError) throw error;
        throw new UsageError((error as Error).message);
      }
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sources-check-'));
      try {
        const warehousePath = path.join(scratch, 'check.duckdb');
        const summary = await extractSource(source, { warehousePath, landingDir: path.resolve(opts.landing), batchId: `check:${name}` });
        const rejected = summary.skipped === undefined ? await rejectedRecords(warehousePath, opts.samples) : [];
        const report = { source: name, skipped: summary.skipped ?? null, notes: summary.notes, tables: tableCounts(summary), rejected };
        printResult(Boolean(opts.json), report, () => describeCheck(report));
        const total = report.tables.reduce((n, t) => n + t.rejected, 0);
        if (total > 0) throw new ExitCodeError(EXIT.stepFailed, `${name}: ${total} record(s) would be quarantined`);
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    });
}

function tableCounts(summary: ExtractSummary) {
  return summary.tables.map((t) => ({
    table: t.table,
    read: t.read,
    valid: t.read - t.rejected,
    rejected: t.rejected,
    unknownFields: t.unknownFields,
    missingFields: t.missingFields,
  }));
}

async function rejectedRecords(warehousePath: string, limit: number) {
  if (limit === 0 || !fs.existsSync(warehousePath)) return [];
  const warehouse = await openWarehouse(warehousePath, { readOnly: true });
  try {
    const rows = (
      await warehouse.connection.runAndReadAll(
        `SELECT raw_table, location, reason, payload FROM raw._quarantine ORDER BY raw_table, location LIMIT ${limit}`,
      )
    ).getRowObjectsJson();
    return rows.map((r) => ({
      table: String(r['raw_table']),
      location: String(r['location']),
      reason: String(r['reason']),
      payload: String(r['payload']),
    }));
  } finally {
    warehouse.close();
  }
}

function describeCheck(report: {
  source: string;
  skipped: string | null;
  notes: string[];
  tables: ReturnType<typeof tableCounts>;
  rejected: Awaited<ReturnType<typeof rejectedRecords>>;
}): string {
  if (report.skipped !== null) return `${report.source}: skipped (${report.skipped})`;
  const lines = [`${report.source}: ${report.notes.join('; ')}`];
  for (const t of report.tables) {
    const drift = Object.keys(t.unknownFields).length > 0 ? `; unknown fields: ${Object.keys(t.unknownFields).join(', ')}` : '';
    lines.push(`  raw.${t.table}: ${t.read} read, ${t.valid} valid, ${t.rejected} rejected${drift}`);
  }
  if (report.rejected.length > 0) lines.push('would be quarantined:');
  for (const r of report.rejected) lines.push(`  ${r.location} (${r.table}): ${r.reason}`);
  return lines.join('\n');
}
