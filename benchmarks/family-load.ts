/**
 * Load time, CPU seconds and peak memory of a landing folder's profile or service files through the
 * built-in source (a mapped source over its landing preset) and through the file drop's row path
 * (csv-parse or JSON.parse, then zod) on the same files, each in a fresh warehouse and its own
 * process (peak RSS is the process's). Prints one line per run.
 * Usage: npx tsx benchmarks/family-load.ts <landing dir> <profiles|service_tickets> [mapped|row]
 *   (without a path: both, row path first; e.g. .bench/data/seed-42-1m/landing)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractSource } from '../pipelines/extract/run-extract.ts';
import { fileDropSources } from '../pipelines/extract/sources.ts';
import { ROW_PATH_SOURCES } from './row-path-sources.ts';

const [landingDir, family, mode] = process.argv.slice(2);
if (
  !landingDir ||
  !family ||
  (family !== 'profiles' && family !== 'service_tickets') ||
  (mode !== undefined && mode !== 'mapped' && mode !== 'row')
) {
  process.stderr.write('usage: npx tsx benchmarks/family-load.ts <landing dir> <profiles|service_tickets> [mapped|row]\n');
  process.exit(2);
}

if (mode === undefined) {
  // Each path in a process of its own, so each peak RSS is its own.
  for (const path_ of ['row', 'mapped']) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, landingDir, family, path_], { stdio: 'inherit' });
    if (child.status !== 0) process.exit(1);
  }
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-family-load-'));
  try {
    const source = mode === 'row' ? ROW_PATH_SOURCES[family]() : fileDropSources().find((s) => s.name === family)!;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    const summary = await extractSource(source, { warehousePath: path.join(dir, 'crm.duckdb'), landingDir, batchId: 'b1' });
    const cpu = process.cpuUsage(cpuStart);
    const tables = summary.tables.map((t) => `${t.table} ${t.read} read, ${t.rejected} rejected`).join('; ');
    process.stdout.write(
      `${family} ${mode}: ${((performance.now() - start) / 1000).toFixed(1)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s, ` +
        `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB (${tables})\n`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
