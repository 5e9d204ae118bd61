import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../cli/pipeline.ts';
import type { PipelineSummary } from '../../pipelines/run/run-pipeline.ts';
import { fileDropSources, mappedSource } from '../../pipelines/extract/sources.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { fileSourceSettingsSchema } from '../../shared/source-settings.ts';
import { datasetFile } from '../support/datasets.ts';

/**
 * CDNOW's full transaction log (69,659 purchases of 23,570 customers, a real retailer's data) loaded
 * through the cdnow preset alone, no converter code, built into the marts by the real pipeline; the
 * monthly revenue and buyers of the marts equal figures computed here from the original text file
 * with DuckDB, to the cent.
 */
const CDNOW = datasetFile('cdnow/CDNOW_master.txt');
const CALIBRATION_END = '1997-09-30';

let dir: string;
let warehousePath: string;
let run: PipelineSummary;

describe.skipIf(CDNOW === null)('real data: CDNOW through the cdnow preset', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-cdnow-'));
    const landingDir = path.join(dir, 'landing');
    fs.mkdirSync(path.join(landingDir, 'cdnow'), { recursive: true });
    fs.copyFileSync(CDNOW!, path.join(landingDir, 'cdnow', 'CDNOW_master.txt'));
    warehousePath = path.join(dir, 'crm.duckdb');
    // A shop with nothing but this log: the built-in orders folder is optional here, the others are by default.
    const builtIn = fileDropSources({ orders: fileSourceSettingsSchema.parse({ optional: true }) });
    // Customer value as of the paper's calibration end (1997-09-30), so the months after it are a real
    // holdout; the shop reports in its own currency (the FX seed has no 1997 rates).
    run = await runPipeline({
      warehousePath,
      landingDir,
      sources: [...builtIn, mappedSource('cdnow', 'preset:cdnow')],
      dbtVars: { as_of_date: CALIBRATION_END, reporting_currency: 'USD' },
      interactive: false,
    });
  }, 600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads every line through the mapping, skips the absent sources, and publishes', async () => {
    expect(run.status).toBe('succeeded');
    expect(run.published).toBe(true);
    const cdnow = run.extracts.find((e) => e.source === 'cdnow')!;
    expect(cdnow.tables.map((t) => [t.table, t.read, t.rejected])).toEqual([
      ['orders', 69_659, 0],
      ['order_items', 69_659, 0],
    ]);
    const skipped = run.run.steps.filter((s) => s.status === 'skipped').map((s) => s.id);
    expect(skipped).toEqual(
      expect.arrayContaining(['extract:orders', 'extract:service_tickets', 'extract:opinion_posts', 'extract:profiles']),
    );
  });

  it('monthly revenue and buyers in the marts equal an independent computation from the original file, to the cent', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const expected = (
      await connection.runAndReadAll(`
        WITH lines AS (
          SELECT string_split_regex(trim(line), '\\s+') AS f
          FROM read_csv('${CDNOW!.replace(/'/g, "''")}', columns = {'line': 'VARCHAR'}, delim = '\\x01', header = false, quote = '', escape = '')
          WHERE trim(line) <> '' AND trim(line) NOT LIKE 'customer_id%'
        )
        SELECT strftime(strptime(f[2], '%Y%m%d'), '%Y-%m') AS month,
               CAST(sum(CAST(f[4] AS DECIMAL(18, 2))) AS VARCHAR) AS revenue,
               count(DISTINCT f[1])::INTEGER AS buyers,
               count(*)::INTEGER AS orders
        FROM lines GROUP BY 1 ORDER BY 1`)
    ).getRows();
    connection.closeSync();
    instance.closeSync();
    expect(expected).toHaveLength(18); // 1997-01 .. 1998-06

    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const marts = (
        await warehouse.connection.runAndReadAll(`
          SELECT strftime(period_start, '%Y-%m'), CAST(revenue AS VARCHAR), active_customers::INTEGER, orders::INTEGER
          FROM marts.fct_kpi_periods WHERE period_grain = 'month' ORDER BY period_start`)
      ).getRows();
      expect(marts).toEqual(expected);
      const [[customers]] = (await warehouse.connection.runAndReadAll(`SELECT count(*)::INTEGER FROM marts.dim_customers`)).getRows() as [
        [number],
      ];
      expect(customers).toBe(23_570);
    } finally {
      warehouse.close();
    }
  });

  it('churn bands mean something on a cohort most of whom never came back: high-risk customers repeat in the holdout at under a third of the low-risk rate', async () => {
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const [[modelName]] = (await warehouse.connection.runAndReadAll(`SELECT model_name FROM ml.clv_model_fits`)).getRows() as [[string]];
      const bands = (
        await warehouse.connection.runAndReadAll(`
          WITH holdout AS (
            SELECT DISTINCT credited_customer_key AS customer_key FROM marts.fct_orders
             WHERE is_valid_sale AND ordered_at > TIMESTAMP '${CALIBRATION_END} 23:59:59.999999'
          )
          SELECT churn_risk_band, count(*)::INTEGER AS customers, avg(CASE WHEN holdout.customer_key IS NULL THEN 0 ELSE 1 END) AS holdout_repeat_rate
            FROM marts.customer_value LEFT JOIN holdout USING (customer_key)
           WHERE churn_risk_band IS NOT NULL
           GROUP BY 1 ORDER BY 1`)
      ).getRowObjectsJson() as { churn_risk_band: string; customers: number; holdout_repeat_rate: number }[];
      process.stderr.write(`CDNOW as of ${CALIBRATION_END}: model ${modelName}; ${JSON.stringify(bands)}\n`);
      const band = (name: string) => bands.find((b) => b.churn_risk_band === name)!;
      expect(bands.map((b) => b.churn_risk_band)).toEqual(['high', 'low', 'medium']);
      const total = bands.reduce((n, b) => n + Number(b.customers), 0);
      expect(total).toBe(23_570);
      // Not zero: most of the cohort never bought again, and the high band holds a real share of it.
      expect(Number(band('high').customers) / total).toBeGreaterThan(0.2);
      expect(Number(band('high').holdout_repeat_rate)).toBeLessThan(Number(band('low').holdout_repeat_rate) / 3);
    } finally {
      warehouse.close();
    }
  });
});
