/**
 * Load time of one file through a mapped source, SQL checks (default) against zod per row
 * (CRM_BULK_LOAD=0), each in a fresh warehouse, and whether both stored the same rows and quarantine.
 * Usage: npx tsx benchmarks/mapped-load.ts <file> [preset] (default preset: cdnow)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { extractSource } from '../pipelines/extract/run-extract.ts';
import { mappedSource } from '../pipelines/extract/sources.ts';

const [file, preset = 'cdnow'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npx tsx benchmarks/mapped-load.ts <file> [preset]\n');
  process.exit(2);
}

async function load(mode: 'sql' | 'zod'): Promise<{ seconds: number; digest: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-mapped-load-'));
  try {
    fs.mkdirSync(path.join(dir, 'landing', 'src'), { recursive: true });
    fs.copyFileSync(file!, path.join(dir, 'landing', 'src', path.basename(file!)));
    const warehousePath = path.join(dir, 'crm.duckdb');
    if (mode === 'zod') process.env.CRM_BULK_LOAD = '0';
    else delete process.env.CRM_BULK_LOAD;
    const source = mappedSource('src', `preset:${preset}`);
    const start = performance.now();
    const summary = await extractSource(source, { warehousePath, landingDir: path.join(dir, 'landing'), batchId: 'b1' });
    const seconds = (performance.now() - start) / 1000;
    const instance = await DuckDBInstance.create(warehousePath);
    const connection = await instance.connect();
    const digest: string[] = summary.tables.map((t) => `${t.table}: read ${t.read}, rejected ${t.rejected}`);
    for (const t of summary.tables) {
      const columns = (
        await connection.runAndReadAll(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = '${t.table}' AND column_name NOT IN ('_batch_id', '_loaded_at', '_ingested_at')`,
        )
      )
        .getRows()
        .map((r) => `"${String(r[0])}"`);
      const rows = await connection.runAndReadAll(`SELECT count(*), bit_xor(hash(${columns.join(', ')})) FROM raw."${t.table}"`);
      digest.push(`raw.${t.table}: ${rows.getRows()[0]!.map(String).join(' rows, content hash ')}`);
    }
    const q = await connection.runAndReadAll(`SELECT count(*), bit_xor(hash(location, reason, payload)) FROM raw._quarantine`);
    digest.push(`raw._quarantine: ${q.getRows()[0]!.map(String).join(' rows, content hash ')}`);
    connection.closeSync();
    instance.closeSync();
    return { seconds, digest };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const zod = await load('zod');
const sql = await load('sql');
process.stdout.write(
  `zod per row (CRM_BULK_LOAD=0): ${zod.seconds.toFixed(2)} s\nSQL checks (default):         ${sql.seconds.toFixed(2)} s\n`,
);
process.stdout.write(`${sql.digest.join('\n')}\n`);
const same = zod.digest.join('\n') === sql.digest.join('\n');
process.stdout.write(same ? 'both paths stored the same rows and quarantine\n' : `DIFFERENT:\nzod:\n${zod.digest.join('\n')}\n`);
process.exit(same ? 0 : 1);
