import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse, sqlString } from '../../pipelines/raw/warehouse-connection.ts';
import { runDbt } from '../../pipelines/transform/dbt-cli.ts';

/**
 * `crm backfill --from --to` passes vars backfill_from/backfill_to to dbt; the incremental facts
 * (macro incremental_window) then rebuild every row whose business time is in the window, not only
 * rows whose watermark moved. Shown by damaging old mart rows: a plain incremental build leaves
 * them (their watermark did not move), a backfill of their days repairs them, and nothing is
 * duplicated.
 */
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-backfill-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

describe('backfill window in the incremental facts', () => {
  it('rebuilds old rows inside the window, leaves those outside alone, and duplicates nothing', async () => {
    const landingDir = path.join(workDir, 'landing');
    const warehousePath = path.join(workDir, 'wh.duckdb');
    await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, seed: 11, customers: 120, orders: 800, malformedRate: 0 });
    for (const source of SOURCES) await extractSource(source, { warehousePath, landingDir, batchId: `t:${source.name}` });
    const select = ['--indirect-selection', 'buildable', '--select', 'fct_orders', 'fct_order_items', 'fct_opinion_mentions'];
    // Posts are watermarked by load time: age every load but the latest ten by 30 days, as if
    // they had arrived in earlier runs, so a plain incremental build does not revisit them.
    {
      const wh = await openWarehouse(warehousePath);
      await wh.connection.run(`update raw.opinion_posts set _loaded_at = _loaded_at - interval 30 day
          where post_id not in (select post_id from raw.opinion_posts order by published_at desc limit 10)`);
      wh.close();
    }
    // A partial build on a fresh warehouse: 'buildable' leaves out tests that also read marts it does
    // not make (dbt's default, eager, would run a reconciliation test against a missing table).
    await runDbt({
      args: ['build', '--indirect-selection', 'buildable', '--select', '+fct_orders', '+fct_order_items', '+fct_opinion_mentions'],
      warehousePath,
    });

    const query = async (sql: string) => {
      const wh = await openWarehouse(warehousePath);
      try {
        return (await wh.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
      } finally {
        wh.close();
      }
    };
    // Two old valid orders on different days, and one old post: damage their mart rows.
    const [inside, outside] = (await query(`select order_id, cast(order_date as varchar) as day from marts.fct_orders
        where is_valid_sale and order_date < (select max(order_date) - 60 from marts.fct_orders)
        qualify row_number() over (partition by order_date order by order_id) = 1 order by order_date limit 2`)) as {
      order_id: string;
      day: string;
    }[];
    const [post] = (await query(`select post_id, cast(published_date as varchar) as day from marts.fct_opinion_mentions
        where published_date < (select max(published_date) - 60 from marts.fct_opinion_mentions) order by post_id limit 1`)) as {
      post_id: string;
      day: string;
    }[];
    expect(inside && outside && post).toBeTruthy();
    const counts = async () =>
      (
        await query(`select (select count(*) from marts.fct_orders) as orders,
        (select count(*) from marts.fct_order_items) as items, (select count(*) from marts.fct_opinion_mentions) as posts`)
      )[0];
    const before = await counts();
    const damage = `
      update marts.fct_orders set net_revenue = -1 where order_id in (${sqlString(inside!.order_id)}, ${sqlString(outside!.order_id)});
      update marts.fct_order_items set net_line_revenue = -1 where order_id in (${sqlString(inside!.order_id)}, ${sqlString(outside!.order_id)});
      update marts.fct_opinion_mentions set sentiment_label = 'damaged' where post_id = ${sqlString(post!.post_id)};`;
    const damaged = async () =>
      (
        await query(`select
        (select list(order_id order by order_id) from marts.fct_orders where net_revenue = -1) as orders,
        (select count(distinct order_id) from marts.fct_order_items where net_line_revenue = -1) as item_orders,
        (select count(*) from marts.fct_opinion_mentions where sentiment_label = 'damaged') as posts`)
      )[0]!;
    await query(damage);

    // `run`, not `build`: the facts' data tests rightly fail on the damaged rows.
    await runDbt({ args: ['run', ...select], warehousePath });
    expect(await damaged()).toEqual({ orders: [inside!.order_id, outside!.order_id].sort(), item_orders: 2n, posts: 1n });

    await runDbt({ args: ['run', ...select], warehousePath, vars: { backfill_from: inside!.day, backfill_to: inside!.day } });
    expect(await damaged()).toEqual({ orders: [outside!.order_id], item_orders: 1n, posts: post!.day === inside!.day ? 0n : 1n });

    const [low, high] = [post!.day, outside!.day].sort();
    await runDbt({ args: ['build', ...select], warehousePath, vars: { backfill_from: low, backfill_to: high } });
    expect(await damaged()).toEqual({ orders: null, item_orders: 0n, posts: 0n });
    expect(await counts()).toEqual(before);
  }, 600_000);
});
