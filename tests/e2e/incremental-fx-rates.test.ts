import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { runDbt } from '../../pipelines/transform/dbt-cli.ts';
import { projectRoot } from '../../shared/paths.ts';
import { tableDifferences } from '../support/warehouse-diff.ts';

/**
 * int_orders__fx is incremental: an incremental build converts only new and changed orders. An
 * edit of seeds/fx_rates.csv must still reach every order it affects on the next incremental build
 * (no --full-refresh to remember): a changed rate, a rate row added for a currency that had none,
 * a removed row (the previous rate then runs longer). The build runs on a copy of the dbt project
 * whose seed the test edits, and every marts and intermediate table is compared with a
 * --full-refresh build of the same data, row by row with EXCEPT in both directions.
 */
/** dbt build without the unit tests (they pin their own vars; the reporting-currency step changes it). */
const BUILD = ['build', '--exclude-resource-type', 'unit_test'];
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-incremental-fx-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** A copy of the dbt project (its SQL, YAML and seeds), so the test can edit a seed. */
function copyProject(to: string): void {
  for (const entry of ['dbt_project.yml', 'models', 'macros', 'seeds', 'snapshots', path.join('tests', 'dbt')])
    fs.cpSync(path.join(projectRoot, entry), path.join(to, entry), { recursive: true });
}

async function differences(incremental: string, full: string): Promise<Record<string, { onlyIncremental: number; onlyFull: number }>> {
  const found = await tableDifferences(incremental, full);
  expect(Object.keys(found)).toEqual(expect.arrayContaining(['intermediate.int_orders__fx', 'marts.fct_orders', 'marts.fct_kpi_periods']));
  return Object.fromEntries(
    Object.entries(found).map(([table, d]) => [table, { onlyIncremental: d.onlyIncremental, onlyFull: d.onlyFull }]),
  );
}

describe('incremental fx conversion', () => {
  it('reconverts every affected order after a seed edit, equal to a full refresh', async () => {
    const project = path.join(workDir, 'project');
    copyProject(project);
    const landingDir = path.join(workDir, 'landing');
    const incremental = path.join(workDir, 'incremental', 'wh.duckdb');
    const full = path.join(workDir, 'full', 'wh.duckdb');
    await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 7, customers: 100, orders: 600, malformedRate: 0 });
    for (const source of SOURCES) await extractSource(source, { warehousePath: incremental, landingDir, batchId: `t:${source.name}` });
    // The sample shop sells in CNY: a third of the orders in USD, a sixth in SGD (no rate yet).
    {
      const wh = await openWarehouse(incremental);
      await wh.connection.run(`
        update raw.orders set currency = 'USD' where hash(order_id) % 3 = 0;
        update raw.orders set currency = 'SGD' where hash(order_id) % 6 = 1;`);
      wh.close();
    }
    await runDbt({ args: BUILD, warehousePath: incremental, projectDir: project });

    const rates = async (warehouse: string) => {
      const wh = await openWarehouse(warehouse, { readOnly: true });
      const rows = (
        await wh.connection.runAndReadAll(`select currency, has_fx_rate, count(*) as orders, count(distinct fx_rate) as rates,
          sum(net_revenue_reporting) as revenue from marts.fct_orders group by all order by all`)
      ).getRowObjectsJS();
      wh.close();
      return rows.map((r) => ({
        currency: String(r.currency),
        hasFxRate: Boolean(r.has_fx_rate),
        orders: Number(r.orders),
        rates: Number(r.rates),
        revenue: r.revenue === null ? null : Number(r.revenue),
      }));
    };
    const before = await rates(incremental);
    expect(before.find((r) => r.currency === 'SGD')).toMatchObject({ hasFxRate: false });
    expect(before.find((r) => r.currency === 'USD')).toMatchObject({ hasFxRate: true });

    // The seed edit: USD's 2024 row goes (its 2023 rate now runs to the end of 2024), its 2025 rate
    // changes, and SGD gets a rate from 2020.
    const seed = path.join(project, 'seeds', 'fx_rates.csv');
    const edited = fs
      .readFileSync(seed, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('USD,CNY,2024-01-01'))
      .map((line) => line.replace(/^USD,CNY,2025-01-01,.*$/, 'USD,CNY,2025-01-01,6.6000'))
      .join('\n')
      .replace(/\n*$/, '\nSGD,CNY,2020-01-01,5.3000\n');
    fs.writeFileSync(seed, edited);
    // Nothing else changed: no order was loaded or updated since the first build.
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.copyFileSync(incremental, full);
    await runDbt({ args: BUILD, warehousePath: incremental, projectDir: project });
    await runDbt({ args: [...BUILD, '--full-refresh'], warehousePath: full, projectDir: project });

    const after = await rates(incremental);
    expect(after).toEqual(await rates(full));
    expect(after.find((r) => r.currency === 'SGD')).toMatchObject({
      hasFxRate: true,
      orders: before.find((r) => r.currency === 'SGD')!.orders,
    });
    const wh = await openWarehouse(incremental, { readOnly: true });
    const [usd] = (
      await wh.connection.runAndReadAll(`select
        count(*) filter (where fx_rate is distinct from case when order_date < date '2025-01-01' then 7.08 else 6.6 end) as other_rates,
        count(*) filter (where order_date < date '2025-01-01') as in_2024
        from marts.fct_orders where currency = 'USD'`)
    ).getRowObjectsJS();
    wh.close();
    expect(Number(usd!.in_2024)).toBeGreaterThan(0);
    expect(Number(usd!.other_rates)).toBe(0);
    const diff = await differences(incremental, full);
    console.log(`[incremental-fx-rates] ${JSON.stringify(diff)}`);
    for (const [table, d] of Object.entries(diff)) expect({ table, ...d }).toEqual({ table, onlyIncremental: 0, onlyFull: 0 });

    // A new reporting currency converts every order again (here: no rates to USD in the seed but USD's own orders).
    const usdReporting = { reporting_currency: 'USD' };
    await runDbt({ args: BUILD, warehousePath: incremental, projectDir: project, vars: usdReporting });
    await runDbt({ args: [...BUILD, '--full-refresh'], warehousePath: full, projectDir: project, vars: usdReporting });
    expect(await rates(incremental)).toEqual(await rates(full));
    for (const [table, d] of Object.entries(await differences(incremental, full)))
      expect({ table, ...d }).toEqual({ table, onlyIncremental: 0, onlyFull: 0 });
  }, 600_000);
});
