/**
 * Times the CLV scoring step (pipelines/transform/clv/score-customers.ts): read + summary in SQL,
 * fit, predictions, appender write and the replacing transaction, then a re-run. The orders are
 * either a generated shop's files (--landing, e.g. the benchmark cache .bench/data/seed-42-10m/landing:
 * 1M customers, 10M orders; loaded with DuckDB's CSV reader as a stand-in marts.fct_orders:
 * completed/paid/shipped orders, value = items - discount, accounts not merged) or, without
 * --landing, N synthetic customers generated inside DuckDB (seeded).
 *
 *   npx tsx benchmarks/clv-score.ts [--landing dir | --customers 1000000] [--keep file.duckdb]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openWarehouse } from '../pipelines/raw/warehouse-connection.ts';
import { scoreCustomers } from '../pipelines/transform/clv/score-customers.ts';

const { values } = parseArgs({
  options: { customers: { type: 'string', default: '1000000' }, landing: { type: 'string' }, keep: { type: 'string' } },
});
const customers = Number(values.customers);
if (!Number.isInteger(customers) || customers < 100) throw new Error('--customers must be a whole number >= 100');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-clv-bench-'));
const file = values.keep ?? path.join(dir, 'bench.duckdb');

const warehouse = await openWarehouse(file);
try {
  const c = warehouse.connection;
  let t = performance.now();
  await c.run('select setseed(0.42)');
  await c.run('create schema if not exists marts');
  if (values.landing) {
    const orders = path.join(values.landing, 'orders');
    const csv = (name: string) =>
      `read_csv('${path.join(orders, name).replace(/'/g, "''")}', header = true, all_varchar = true, ignore_errors = true)`;
    await c.run(`create or replace table marts.fct_orders as
      with items as (
        select order_id, sum(try_cast(quantity as integer) * try_cast(unit_price as decimal(18, 2))) as total from ${csv('order_items.csv')} group by order_id
      ),
      latest as (
        select * from ${csv('orders.csv')} qualify row_number() over (partition by order_id order by updated_at desc) = 1
      )
      select latest.order_id, customer_id as credited_customer_key, status in ('completed', 'paid', 'shipped') as is_valid_sale,
             cast(try_cast(ordered_at as timestamptz) as timestamp) as ordered_at,
             cast(greatest(0, items.total - try_cast(discount_amount as decimal(18, 2))) as decimal(18, 2)) as net_revenue
        from latest join items using (order_id)
       where try_cast(ordered_at as timestamptz) is not null and customer_id is not null`);
  } else {
    // Each customer: a first order in 2024, then 0-11 more at a personal pace; a third stop early.
    await c.run(`create or replace table marts.fct_orders as
    with people as (
      select c, 'C' || lpad(cast(c as varchar), 8, '0') as key, random() * 360 as first_day,
             5 + random() * 60 as gap, cast(floor(12 * random() * random()) as bigint) as repeats,
             case when random() < 0.33 then 0.3 else 1.0 end as life
        from range(${customers}) t(c)
    )
    select 'o' || c || '_' || i as order_id, key as credited_customer_key, true as is_valid_sale,
           timestamp '2024-01-01' + to_milliseconds(cast((first_day + i * gap * (0.5 + random())) * 86400000 as bigint)) as ordered_at,
           cast(20 + random() * 300 as decimal(18, 2)) as net_revenue
      from people, range(cast(1 + floor(repeats * life) as bigint)) o(i)
     where first_day + i * gap <= 720`);
  }
  const [[orders]] = (await c.runAndReadAll('select count(*) from marts.fct_orders')).getRows();
  console.log(
    `${values.landing ? `loaded ${values.landing}:` : `generated ${customers.toLocaleString('en-US')} customers,`} ${Number(orders).toLocaleString('en-US')} orders in ${((performance.now() - t) / 1000).toFixed(1)}s`,
  );
  for (const run of ['first run', 're-run']) {
    t = performance.now();
    const result = await scoreCustomers(c, { runId: run });
    const rss = process.memoryUsage().rss / 2 ** 20;
    console.log(
      `${run}: ${result.status}, ${result.customers.toLocaleString('en-US')} customers (fit on ${result.fitCustomers.toLocaleString('en-US')}) in ${result.seconds.total.toFixed(1)}s ` +
        `(read+summary ${result.seconds.read.toFixed(1)}s, fit ${result.seconds.fit.toFixed(1)}s, predict ${result.seconds.predict.toFixed(1)}s, write ${result.seconds.write.toFixed(1)}s), RSS ${rss.toFixed(0)} MB`,
    );
    if (result.fit)
      console.log(
        `  BG/NBD ${JSON.stringify(result.fit.purchases.params)} (${result.fit.purchases.iterations} iterations); Gamma-Gamma ${JSON.stringify(result.fit.spend.params)}`,
      );
  }
  const [[rows, keys]] = (await c.runAndReadAll('select count(*), count(distinct customer_key) from ml.clv_predictions')).getRows();
  console.log(`ml.clv_predictions: ${rows} rows, ${keys} distinct customers`);
} finally {
  warehouse.close();
  if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
}
