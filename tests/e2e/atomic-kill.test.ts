import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import type { GroundTruth } from '../../pipelines/sources/sample-data/landing-layout.ts';
import { LineWriter, csvLine } from '../../pipelines/sources/sample-data/line-writer.ts';
import { ORDER_HEADER } from '../../pipelines/sources/sample-data/orders-writer.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { findSource } from '../../pipelines/extract/sources.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * Atomicity with a real kill: a child process loading a large new file drop is SIGKILLed
 * mid-load (once while reading, once after reading, during upsert/commit). Each time the
 * warehouse must hold exactly the previous committed state; the next run completes the work
 * with no duplicates and no lost records.
 */
const BIG_ROWS = 300_000;
let workDir: string;
let landingDir: string;
let warehousePath: string;
let truth: GroundTruth;

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-kill-'));
  landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'wh.duckdb');
  truth = await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: landingDir,
    seed: 21,
    customers: 100,
    orders: 1_000,
    malformedRate: 0.01,
  });
  await extractSource(findSource('orders'), { warehousePath, landingDir, batchId: 'first' });
  // A large export lands after the first load.
  const big = new LineWriter(path.join(landingDir, 'orders', 'orders_2026-01.csv'));
  await big.write(ORDER_HEADER.join(','));
  for (let i = 1; i <= BIG_ROWS; i++) {
    const id = `N${String(i).padStart(9, '0')}`;
    await big.write(
      csvLine([
        id,
        `C${String(1 + (i % 100)).padStart(6, '0')}`,
        '2026-01-05T10:00:00+08:00',
        'paid',
        'CNY',
        '0.00',
        '2026-01-05T10:00:00+08:00',
        '王小明',
        '13800000000',
        '上海',
        '南京路 1 号',
      ]),
    );
  }
  await big.close();
});

afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

async function snapshot() {
  const wh = await openWarehouse(warehousePath);
  try {
    const read = async (sql: string) => (await wh.connection.runAndReadAll(sql)).getRows()[0]!.map((v) => String(v));
    return {
      orders: await read(`SELECT count(*), count(DISTINCT order_id), sum(hash(order_id, status, updated_at, _batch_id)) FROM raw.orders`),
      items: await read(`SELECT count(*), sum(hash(order_id, line_no, _batch_id)) FROM raw.order_items`),
      quarantine: await read(`SELECT count(*), sum(hash(location, last_batch_id)) FROM raw._quarantine`),
      batches: await read(`SELECT count(*), string_agg(batch_id, ',' ORDER BY batch_id) FROM raw._load_batches`),
      manifest: await read(
        `SELECT count(*), string_agg(path || ':' || sha256 || ':' || batch_id, ',' ORDER BY path) FROM raw._file_manifest`,
      ),
      state: await read(`SELECT count(*), string_agg(batch_id, ',') FROM raw._source_state`),
    };
  } finally {
    wh.close();
  }
}

/** Runs the extract in a child process and SIGKILLs it once `shouldKill(progress)` says so. */
function runChild(
  batchId: string,
  shouldKill: (read: number) => boolean,
): Promise<{ killed: boolean; lastProgress: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'tests/support/extract-child.ts'), 'orders', landingDir, warehousePath, batchId],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let killed = false;
    let lastProgress = 0;
    let output = '';
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      output += line + '\n';
      const match = /^progress (\d+)$/.exec(line);
      if (match) lastProgress = Number(match[1]);
      if (match && !killed && shouldKill(lastProgress)) {
        killed = child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve({ killed, lastProgress, output }));
  });
}

describe('a load killed with SIGKILL', () => {
  it('leaves the previous state intact, and the next run completes without duplicates', async () => {
    const before = await snapshot();
    expect(Number(before.orders[0])).toBe(truth.counts.orders);

    const midRead = await runChild('killed-1', (read) => read >= 100_000);
    expect(midRead.killed, midRead.output).toBe(true);
    expect(midRead.lastProgress).toBeLessThan(BIG_ROWS);
    expect(await snapshot()).toEqual(before);

    // Killed after the big file was fully read: during the upsert / the remaining parts / commit.
    // Progress is reported every 50,000 records and once more when a table is fully read; only the
    // big file is read (the others are unchanged and skipped), so the 2nd report of BIG_ROWS is that one.
    let reportsAtEnd = 0;
    const lateKill = await runChild('killed-2', (read) => read === BIG_ROWS && ++reportsAtEnd === 2);
    expect(lateKill.killed, lateKill.output).toBe(true);
    expect(await snapshot()).toEqual(before);

    const finish = await runChild('finish', () => false);
    expect(finish.killed).toBe(false);
    expect(finish.output).toContain('done ');
    const after = await snapshot();
    expect(after.orders.slice(0, 2)).toEqual([String(truth.counts.orders + BIG_ROWS), String(truth.counts.orders + BIG_ROWS)]);
    expect(after.items).toEqual(before.items); // the other files were unchanged and skipped
    expect(after.quarantine).toEqual(before.quarantine);
    expect(after.batches[1]).toBe('finish,first');
    expect(after.manifest[0]).toBe(String(Number(before.manifest[0]) + 1));
    expect(after.state).toEqual(['1', 'finish']);

    // And once more: nothing new, nothing changes.
    const again = await extractSource(findSource('orders'), { warehousePath, landingDir, batchId: 'again' });
    expect(again.tables.every((t) => t.read === 0)).toBe(true);
  });
});
