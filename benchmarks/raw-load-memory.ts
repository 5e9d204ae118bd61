/**
 * Benchmark: peak memory and time of generating N orders and loading them into raw, each phase in
 * its own process so peak RSS is that phase's own. Memory should stay flat as N grows.
 *   node --import tsx benchmarks/raw-load-memory.ts <orders> [customers] [workDir]
 * Prints one JSON line per phase.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const [phase] = process.argv.slice(2);

if (phase === '--generate' || phase === '--extract') {
  const [, orders, customers, dir] = process.argv.slice(2) as [string, string, string, string];
  const started = Date.now();
  if (phase === '--generate') {
    const { generateSampleData, DEFAULT_GENERATE_OPTIONS } = await import('../pipelines/sources/sample-data/generate.ts');
    await generateSampleData({
      ...DEFAULT_GENERATE_OPTIONS,
      outDir: path.join(dir, 'landing'),
      orders: Number(orders),
      customers: Number(customers),
    });
  } else {
    const { findSource } = await import('../pipelines/extract/sources.ts');
    const { extractSource } = await import('../pipelines/extract/run-extract.ts');
    const summary = await extractSource(findSource('orders'), {
      warehousePath: path.join(dir, 'wh.duckdb'),
      landingDir: path.join(dir, 'landing'),
      batchId: 'bench',
    });
    process.stderr.write(JSON.stringify(summary.tables.map((t) => [t.table, t.inserted, t.rejected])) + '\n');
  }
  process.stdout.write(
    JSON.stringify({
      phase: phase.slice(2),
      orders: Number(orders),
      seconds: (Date.now() - started) / 1000,
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }) + '\n',
  );
} else {
  const orders = process.argv[2] ?? '200000';
  const customers = process.argv[3] ?? String(Math.max(1_000, Math.round(Number(orders) / 10)));
  const dir = process.argv[4] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crm-bench-'));
  let status = 0;
  for (const step of ['--generate', '--extract']) {
    const result = spawnSync(process.execPath, ['--import', 'tsx', self, step, orders, customers, dir], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    status = result.status ?? 1;
    if (status !== 0) break;
  }
  if (!process.argv[4]) fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = status;
}
