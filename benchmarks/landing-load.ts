/**
 * Load time of a generated shop's orders/ folder through the built-in `orders` file-drop source
 * and through the `landing` preset (a mapped source), each in a fresh warehouse, and whether both
 * stored the same raw rows and quarantine. Runs each path `--runs` times (default 2) alternately and
 * prints every time, so the ratio is measured in the same run on the same machine.
 * Usage: npx tsx benchmarks/landing-load.ts <landing dir> [runs]   (make one with `crm generate --out <dir>`)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { extractSource } from '../pipelines/extract/run-extract.ts';
import { fileDropSources, mappedSource } from '../pipelines/extract/sources.ts';

const [landingDir, runsText = '2'] = process.argv.slice(2);
if (!landingDir || !fs.existsSync(path.join(landingDir, 'orders'))) {
  process.stderr.write('usage: npx tsx benchmarks/landing-load.ts <landing dir with orders/> [runs]\n');
  process.exit(2);
}

const TABLES = ['orders', 'order_items', 'order_payments', 'order_refunds', 'order_cancellations'];

async function load(mode: 'file-drop' | 'landing'): Promise<{ seconds: number; cpu: number; digest: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-landing-load-'));
  try {
    const warehousePath = path.join(dir, 'crm.duckdb');
    const source = mode === 'file-drop' ? fileDropSources().find((s) => s.name === 'orders')! : mappedSource('orders', 'preset:landing');
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const summary = await extractSource(source, { warehousePath, landingDir: landingDir!, batchId: 'b1' });
    const seconds = (performance.now() - start) / 1000;
    // CPU seconds of the process (Node and DuckDB's threads): steadier than wall time on a busy machine.
    const used = process.cpuUsage(cpuStart);
    const cpu = (used.user + used.system) / 1e6;
    const instance = await DuckDBInstance.create(warehousePath);
    const connection = await instance.connect();
    const digest: string[] = summary.tables.map((t) => `${t.table}: read ${t.read}, rejected ${t.rejected}, inserted ${t.inserted}`);
    for (const table of TABLES) {
      const rows = await connection.runAndReadAll(
        `SELECT count(*), bit_xor(hash(t)) FROM (SELECT * EXCLUDE (_batch_id, _loaded_at) FROM raw."${table}") AS t`,
      );
      digest.push(`raw.${table}: ${rows.getRows()[0]!.map(String).join(' rows, content hash ')}`);
    }
    const q = await connection.runAndReadAll(
      `SELECT count(*), bit_xor(hash(raw_table, location, record_key, reason)) FROM raw._quarantine`,
    );
    digest.push(`raw._quarantine: ${q.getRows()[0]!.map(String).join(' rows, content hash ')}`);
    connection.closeSync();
    instance.closeSync();
    return { seconds, cpu, digest };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const runs = Math.max(1, Number(runsText));
const times: Record<'file-drop' | 'landing', number[]> = { 'file-drop': [], landing: [] };
const cpus: Record<'file-drop' | 'landing', number[]> = { 'file-drop': [], landing: [] };
let digests: Record<string, string[]> = {};
for (let i = 0; i < runs; i++) {
  for (const mode of ['file-drop', 'landing'] as const) {
    const result = await load(mode);
    times[mode].push(result.seconds);
    cpus[mode].push(result.cpu);
    digests = { ...digests, [mode]: result.digest };
  }
}
const fmt = (xs: number[]) => xs.map((x) => `${x.toFixed(2)} s`).join(', ');
const best = (xs: number[]) => Math.min(...xs);
process.stdout.write(`file-drop (built-in orders source): ${fmt(times['file-drop'])}\n`);
process.stdout.write(`landing preset (mapped source):     ${fmt(times.landing)}\n`);
process.stdout.write(`ratio landing / file-drop (best of each): ${(best(times.landing) / best(times['file-drop'])).toFixed(2)}\n`);
process.stdout.write(`CPU seconds: file-drop ${fmt(cpus['file-drop'])}; landing ${fmt(cpus.landing)}\n`);
process.stdout.write(`ratio of CPU seconds (best of each): ${(best(cpus.landing) / best(cpus['file-drop'])).toFixed(2)}\n`);
process.stdout.write(`${digests['file-drop']!.join('\n')}\n`);
const same = digests['file-drop']!.join('\n') === digests.landing!.join('\n');
process.stdout.write(same ? 'both stored the same raw rows and quarantine\n' : `DIFFERENT (landing):\n${digests.landing!.join('\n')}\n`);
process.exit(same ? 0 : 1);
