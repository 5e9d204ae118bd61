import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import type { GroundTruth } from '../../pipelines/sources/sample-data/landing-layout.ts';
import { LineWriter, csvLine } from '../../pipelines/sources/sample-data/line-writer.ts';
import { ITEM_HEADER, ORDER_HEADER } from '../../pipelines/sources/sample-data/orders-writer.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { warehouseLayout } from '../../pipelines/publish/layout.ts';
import { RunLedger } from '../../pipelines/ledger/ledger.ts';
import { loadConfig } from '../../shared/config.ts';
import { projectRoot } from '../../shared/paths.ts';
import { startApiServer, type RunningApiServer } from '../../api/server.ts';
import { signDevToken } from '../../api/auth.ts';

/**
 * Publishing under faults, with real processes: `crm run` children are SIGKILLed during extract,
 * mid dbt build and during publish while an API server keeps answering from the published file;
 * the next run completes with no duplicates; a dbt test failure and an unreachable source are
 * reported and publish nothing (unless partial publishing is configured); every API request made
 * across the publishes succeeds.
 */
const SECRET = 'faults-secret-0123456789abcdef0123456789';
const NEW_ORDERS = 40;
let workDir: string;
let landingDir: string;
let warehousePath: string;
let configPath: string;
let truth: GroundTruth;
let api: RunningApiServer;
let token: string;

interface Answer {
  at: number;
  status: number;
  orders: number | null;
  error?: string;
}
const answers: Answer[] = [];
let hammering = true;
let hammer: Promise<void>;

const QUERY = { measures: ['sales_overview.valid_order_count', 'sales_overview.revenue'], timezone: 'UTC' };

async function ask(): Promise<Answer> {
  const at = Date.now();
  try {
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({ query: QUERY }),
    });
    const body = (await response.json()) as { data?: Record<string, string>[]; error?: string };
    return {
      at,
      status: response.status,
      orders: body.data ? Number(body.data[0]!['sales_overview.valid_order_count']) : null,
      ...(body.error ? { error: body.error } : {}),
    };
  } catch (error) {
    return { at, status: 0, orders: null, error: String(error) };
  }
}

function identity(): string {
  const stat = fs.statSync(warehousePath);
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

interface ChildOutcome {
  code: number | null;
  killed: boolean;
  stdout: string;
  events: Record<string, unknown>[];
}

/** Runs `crm <args>` as a child; SIGKILLs it when `killWhen` matches one of its JSON log lines. */
function crm(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; killWhen?: (event: Record<string, unknown>) => boolean } = {},
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'cli/crm.ts'), ...args], {
      cwd: projectRoot,
      env: {
        ...process.env,
        CI: 'true',
        CRM_WAREHOUSE_PATH: warehousePath,
        CRM_LANDING_DIR: landingDir,
        CRM_CONFIG: configPath,
        CRM_LOG_LEVEL: 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let killed = false;
    const events: Record<string, unknown>[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      events.push(event);
      if (!killed && options.killWhen?.(event)) killed = child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, killed, stdout, events }));
  });
}

async function rawCounts() {
  const wh = await openWarehouse(warehousePath, { readOnly: true });
  try {
    const row = (
      await wh.connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM raw.orders), (SELECT count(DISTINCT order_id) FROM raw.orders), (SELECT count(*) FROM marts.fct_orders),
              (SELECT count(*) FROM raw._quarantine), (SELECT count(DISTINCT location) FROM raw._quarantine)`,
      )
    ).getRows()[0]!;
    return row.map(Number);
  } finally {
    wh.close();
  }
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-faults-'));
  landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  configPath = path.join(workDir, 'crm.config.json');
  fs.writeFileSync(configPath, JSON.stringify({ extract: { retries: 1, retryDelaySeconds: 0.2 }, publish: { retention: 2 } }));
  truth = await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: landingDir,
    seed: 5,
    customers: 150,
    orders: 1_500,
    malformedRate: 0.01,
  });
  const first = await runPipeline({ warehousePath, landingDir, interactive: false, config: loadConfig(configPath) });
  expect(first.published).toBe(true);
  api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1' });
  token = await signDevToken(SECRET, { sub: 'faults', role: 'analyst' });
  hammer = (async () => {
    while (hammering) {
      answers.push(await ask());
      await sleep(25);
    }
  })();
  // New orders land after the first published run.
  const drop = new LineWriter(path.join(landingDir, 'orders', 'orders_late.csv'));
  await drop.write(ORDER_HEADER.join(','));
  for (let i = 1; i <= NEW_ORDERS; i++) {
    await drop.write(
      csvLine([
        `L${String(i).padStart(9, '0')}`,
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
  await drop.close();
  // Each with one product line: an order without a valid line is no sale.
  const items = new LineWriter(path.join(landingDir, 'orders', 'order_items_late.csv'));
  await items.write(ITEM_HEADER.join(','));
  for (let i = 1; i <= NEW_ORDERS; i++) {
    await items.write(csvLine([`L${String(i).padStart(9, '0')}`, '1', 'SKU-LATE', '跑步鞋', 'shoes', 'Li-Ning', '1', '199.00']));
  }
  await items.close();
});

afterAll(async () => {
  hammering = false;
  await hammer;
  await api?.close();
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('publishing under faults', () => {
  let baselineOrders: number;

  it('a run killed during extract, mid dbt build and during publish leaves the served version untouched; the next run completes without duplicates', async () => {
    // The first answer compiles the Cube model (seconds on 2 busy cores): wait for it.
    for (const deadline = Date.now() + 120_000; !answers.some((a) => a.status === 200) && Date.now() < deadline;) await sleep(100);
    baselineOrders = answers.at(-1)!.orders!;
    expect(baselineOrders).toBeGreaterThan(0);
    const before = identity();

    const duringExtract = await crm(['run', '--json'], { killWhen: (e) => e.event === 'step_finished' && e.step === 'extract orders' });
    expect(duringExtract.killed).toBe(true);
    expect(identity()).toBe(before);

    const midDbt = await crm(['run', '--json'], {
      killWhen: (e) => e.event === 'step_progress' && e.step === 'dbt build' && String(e.progress).includes('nodes done'),
    });
    expect(midDbt.killed, `${midDbt.stdout}\n${JSON.stringify(midDbt.events.slice(-5))}`).toBe(true);
    expect(identity()).toBe(before);

    const duringPublish = await crm(['run', '--json'], {
      env: { CRM_FAILPOINTS: 'publish:before-rename' },
      killWhen: (e) => e.event === 'failpoint',
    });
    expect(duringPublish.killed, `${duringPublish.stdout}\n${JSON.stringify(duringPublish.events.slice(-5))}`).toBe(true);
    expect(identity()).toBe(before);
    const layout = warehouseLayout(warehousePath);
    expect(fs.existsSync(layout.lock)).toBe(true); // left behind by the killed process

    // Every answer so far came from the first version.
    expect(answers.every((a) => a.status === 200 && a.orders === baselineOrders)).toBe(true);

    const switchStarted = Date.now();
    const finish = await crm(['run', '--json']);
    const switchEnded = Date.now();
    expect(finish.code, finish.stdout).toBe(0);
    const summary = JSON.parse(finish.stdout) as {
      runId: string;
      status: string;
      published: boolean;
      cleanedUp: { buildsRemoved: string[] };
    };
    expect(summary).toMatchObject({ status: 'succeeded', published: true });
    expect(summary.cleanedUp.buildsRemoved).toHaveLength(1); // the build of the run killed during publish (earlier ones went at each next start)
    expect(fs.readdirSync(layout.buildsDir)).toEqual([]);
    expect(identity()).not.toBe(before);

    const [rows, distinct, facts] = await rawCounts();
    expect([rows, distinct, facts]).toEqual([
      truth.counts.orders + NEW_ORDERS,
      truth.counts.orders + NEW_ORDERS,
      truth.counts.orders + NEW_ORDERS,
    ]);

    const runs = await new RunLedger(layout.ledger).recentRuns(10);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'interrupted', 'interrupted', 'interrupted', 'succeeded']);
    expect(runs[0]!.runId).toBe(summary.runId);

    // API requests across the switch: all answered, first the old version then the new one.
    await sleep(300);
    const across = answers.filter((a) => a.at >= switchStarted - 1000);
    expect(across.length).toBeGreaterThan(20);
    expect(across.filter((a) => a.status !== 200)).toEqual([]);
    const seen = across.map((a) => a.orders);
    expect(new Set(seen)).toEqual(new Set([baselineOrders, baselineOrders + NEW_ORDERS]));
    expect(seen.indexOf(baselineOrders + NEW_ORDERS)).toBeGreaterThan(seen.lastIndexOf(baselineOrders));
    expect(answers.filter((a) => a.at <= switchEnded && a.at >= switchStarted).length).toBeGreaterThan(10);
  });

  it('an unreachable source fails its step after retries while the others load; the partial run publishes only when configured to', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const env = { CRM_ORDERS_PG_URL: `postgres://shop:secret@127.0.0.1:${port}/shop` };
    const before = identity();

    // The publishing rule does not depend on what dbt builds: a narrow selection keeps the two runs short.
    const partial = await crm(['run', '--select', 'stg_shop__orders', '--json'], { env });
    expect(partial.code, `crm run exited ${partial.code}: ${partial.stdout}`).toBe(5);
    const summary = JSON.parse(partial.stdout) as {
      status: string;
      published: boolean;
      error: string;
      steps: { id: string; status: string; attempts: number; error: string | null }[];
    };
    expect(summary).toMatchObject({ status: 'partial', published: false });
    const pg = summary.steps.find((s) => s.id === 'extract:orders_pg')!;
    expect(pg).toMatchObject({ status: 'failed', attempts: 2 });
    expect(pg.error).toContain(`orders_pg: cannot connect to PostgreSQL at postgres://shop:***@127.0.0.1:${port}`);
    expect(pg.error).not.toContain('secret');
    expect(
      summary.steps.filter((s) => s.id.startsWith('extract:') && s.id !== 'extract:orders_pg').every((s) => s.status === 'succeeded'),
    ).toBe(true);
    expect(summary.steps.find((s) => s.id === 'dbt:build')?.status).toBe('succeeded');
    expect(identity()).toBe(before);

    const publishing = path.join(workDir, 'publish-partial.json');
    fs.writeFileSync(publishing, JSON.stringify({ extract: { retries: 0 }, publish: { publishPartial: true } }));
    const published = await crm(['run', '--select', 'stg_shop__orders', '--json'], { env: { ...env, CRM_CONFIG: publishing } });
    expect(published.code, `crm run exited ${published.code}: ${published.stdout}`).toBe(5);
    expect(JSON.parse(published.stdout)).toMatchObject({ status: 'partial', published: true });
    expect(identity()).not.toBe(before);
  });

  it('backfills a window: re-reads a source in full without duplicates and passes the window to dbt', async () => {
    const before = await rawCounts();
    const backfill = await crm([
      'backfill',
      '--from',
      '2025-01-01',
      '--to',
      '2025-12-31',
      '--reextract',
      'orders',
      '--select',
      'fct_orders',
      '--json',
    ]);
    expect(backfill.code, backfill.stdout).toBe(0);
    const summary = JSON.parse(backfill.stdout) as {
      runId: string;
      published: boolean;
      steps: { id: string; status: string; rowsIn: number | null; rowsOut: number | null }[];
    };
    expect(summary.published).toBe(true);
    expect(summary.steps.map((s) => s.id).slice(0, 2)).toEqual(['reset-state:orders', 'extract:profiles']);
    expect(summary.steps.find((s) => s.id === 'reset-state:orders')!.rowsOut).toBeGreaterThan(0);
    expect(summary.steps.find((s) => s.id === 'extract:orders')!.rowsIn).toBeGreaterThanOrEqual(truth.counts.orders + NEW_ORDERS);
    expect(await rawCounts()).toEqual(before); // re-read in full, upserted: nothing doubled
    const history = JSON.parse((await crm(['history', '--run', summary.runId, '--json'])).stdout) as {
      run: { command: string; args: string };
      steps: { stepId: string; detail: { vars?: unknown } | null }[];
    };
    expect(history.run.command).toBe('backfill');
    // The window, beside the shop's zone and reporting currency that every transform passes (config shop).
    expect(history.steps.find((s) => s.stepId === 'dbt:build')!.detail!.vars).toEqual({
      reporting_currency: 'CNY',
      shop_timezone: 'Asia/Shanghai',
      backfill_from: '2025-01-01',
      backfill_to: '2025-12-31',
    });
  });

  it("a dbt test failure blocks publishing and is reported with the failing test's name", async () => {
    hammering = false;
    await hammer;
    await api.close();
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // Put a rating in the published raw data that the extractor would have rejected.
    const wh = await openWarehouse(warehousePath);
    await wh.connection.run(
      `UPDATE raw.service_tickets SET satisfaction = 9 WHERE ticket_id = (SELECT min(ticket_id) FROM raw.service_tickets)`,
    );
    wh.close();
    const before = identity();

    // Only the model whose test fails (and its tests): the failure and its report are the point.
    const failed = await crm(['run', '--select', 'stg_service__tickets', '--json']);
    expect(failed.code).toBe(1);
    const summary = JSON.parse(failed.stdout) as { runId: string; status: string; published: boolean; error: string };
    expect(summary).toMatchObject({ status: 'failed', published: false });
    expect(summary.error).toContain('value_between_stg_service__tickets_satisfaction');
    expect(identity()).toBe(before);
    const history = await crm(['history', '--run', summary.runId, '--json']);
    const dbt = (JSON.parse(history.stdout) as { dbtResults: { uniqueId: string; status: string }[] }).dbtResults;
    expect(dbt.filter((d) => d.status === 'fail').map((d) => d.uniqueId)).toEqual([
      expect.stringContaining('value_between_stg_service__tickets_satisfaction'),
    ]);
    expect(dbt.filter((d) => d.status === 'success').length).toBeGreaterThan(0);
  });
});
