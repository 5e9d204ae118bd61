import { DuckDBInstance } from '@duckdb/node-api';
import { createFixtureWarehouse } from '../unit/api-fixture.ts';

/**
 * The API fixture warehouse (hand-checkable fct_orders and customer_value, see api-fixture.ts)
 * grown to the shape of docs/contracts/marts.md for the decision API: customer_key on the
 * marts, dim_customers with raw, masked and hashed contact points and consent, tickets, mentions,
 * triggers, and the ops.* ledger copy. `bulkTriggers` adds that many generated trigger rows (for
 * the constant-memory export test).
 */
export async function createDecisionWarehouse(filePath: string, options: { bulkTriggers?: number } = {}): Promise<string> {
  await createFixtureWarehouse(filePath);
  const instance = await DuckDBInstance.create(filePath);
  const connection = await instance.connect();
  try {
    await connection.run(`
      ALTER TABLE marts.fct_orders ADD COLUMN IF NOT EXISTS customer_key VARCHAR;
      ALTER TABLE marts.fct_orders ADD COLUMN IF NOT EXISTS credited_customer_key VARCHAR;
      ALTER TABLE marts.fct_orders ADD COLUMN IF NOT EXISTS is_accidental BOOLEAN DEFAULT false;
      ALTER TABLE marts.fct_orders ADD COLUMN IF NOT EXISTS primary_brand VARCHAR DEFAULT 'Li-Ning';
      ALTER TABLE marts.fct_orders ADD COLUMN IF NOT EXISTS ship_city VARCHAR DEFAULT 'Shanghai';
      UPDATE marts.fct_orders SET customer_key = customer_id, credited_customer_key = customer_id, is_accidental = false;
      -- o8 was placed by c2's friend under c2's account: not credited to c2.
      UPDATE marts.fct_orders SET credited_customer_key = NULL, is_accidental = true WHERE order_id = 'o8';

      ALTER TABLE marts.customer_value ADD COLUMN IF NOT EXISTS customer_key VARCHAR;
      ALTER TABLE marts.customer_value ADD COLUMN IF NOT EXISTS rfm_segment VARCHAR;
      ALTER TABLE marts.customer_value ADD COLUMN IF NOT EXISTS churn_risk_band VARCHAR;
      ALTER TABLE marts.customer_value ADD COLUMN IF NOT EXISTS predicted_value_365d DECIMAL(18,2);
    `);
    // The shared API fixture keys customer_value by customer_id or (newer) customer_key.
    const hasId = (
      await connection.runAndReadAll(
        `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = 'customer_value' AND column_name = 'customer_id'`,
      )
    ).getRows()[0]![0];
    if (Number(hasId) > 0) await connection.run('UPDATE marts.customer_value SET customer_key = customer_id');
    await connection.run(`
      UPDATE marts.customer_value SET
        rfm_segment = CASE customer_key WHEN 'c1' THEN 'champions' WHEN 'c2' THEN 'champions' WHEN 'c3' THEN 'at_risk' END,
        churn_risk_band = CASE customer_key WHEN 'c3' THEN 'high' ELSE 'low' END,
        predicted_value_365d = CASE customer_key WHEN 'c1' THEN 300 WHEN 'c2' THEN 200 WHEN 'c3' THEN 50 END;

      CREATE TABLE marts.dim_customers (
        customer_key VARCHAR NOT NULL, account_ids VARCHAR, account_count INTEGER, full_name VARCHAR, company VARCHAR,
        city VARCHAR, lang VARCHAR, signup_at TIMESTAMP,
        email VARCHAR, phone VARCHAR, mobile VARCHAR, wechat_id VARCHAR, qq_id VARCHAR,
        email_masked VARCHAR, phone_masked VARCHAR, wechat_masked VARCHAR, qq_masked VARCHAR, email_pseudonym VARCHAR, phone_pseudonym VARCHAR,
        price_sensitivity VARCHAR, brand_affinity VARCHAR, membership_tier VARCHAR, privacy_tolerance VARCHAR,
        contact_frequency_tolerance VARCHAR, marketing_consent BOOLEAN, is_contactable BOOLEAN,
        order_count INTEGER, revenue DECIMAL(18,2), ticket_count INTEGER, complaint_count INTEGER, mention_count INTEGER);
      INSERT INTO marts.dim_customers VALUES
        ('c1', 'c1|c9', 2, 'Alice Wang', 'Acme', 'Shanghai', 'zh', '2024-12-01', 'alice@example.com', '+86 138-0013-8000', NULL, 'alice_wx', '123456',
         'a***@example.com', '****8000', 'al***wx', '12***56', 'email-pseudonym-c1', 'phone-pseudonym-c1',
         'low', 'Li-Ning', 'gold', 'high', 'weekly', true, true, 3, 145.25, 2, 1, 1),
        ('c2', 'c2', 1, 'Bob Li', NULL, 'Beijing', 'zh', '2024-11-15', 'Bob@Example.com', '139 0000 1111', NULL, NULL, NULL,
         'b***@example.com', '****1111', NULL, NULL, 'email-pseudonym-c2', 'phone-pseudonym-c2',
         'high', 'Anta', 'silver', 'low', 'never', false, false, 2, 110.00, 0, 0, 0),
        ('c3', 'c3', 1, 'Carol Chen', NULL, 'Shanghai', 'en', '2025-01-20', 'carol@example.com', '+1 415-555-0100', NULL, 'carol_wx', NULL,
         'c***@example.com', '****0100', 'ca***wx', NULL, 'email-pseudonym-c3', 'phone-pseudonym-c3',
         'medium', 'Li-Ning', 'bronze', 'medium', 'monthly', true, true, 1, 120.00, 1, 1, 2);
      -- The normalised contact points identity resolution saw (dbt: dim_customer_contact_points);
      -- c1 also kept an older phone, which the lookup finds too.
      CREATE TABLE marts.dim_customer_contact_points (customer_key VARCHAR NOT NULL, point_type VARCHAR NOT NULL, point_value VARCHAR NOT NULL, last_seen_at TIMESTAMP);
      INSERT INTO marts.dim_customer_contact_points VALUES
        ('c1', 'email', 'alice@example.com', '2025-01-01'), ('c1', 'phone', '13800138000', '2025-01-01'), ('c1', 'phone', '13711112222', '2024-06-01'),
        ('c1', 'wechat', 'alice_wx', '2025-01-01'), ('c1', 'qq', '123456', '2025-01-01'),
        ('c2', 'email', 'bob@example.com', '2025-01-01'), ('c2', 'phone', '13900001111', '2025-01-01'),
        ('c3', 'email', 'carol@example.com', '2025-01-01'), ('c3', 'phone', '4155550100', '2025-01-01'), ('c3', 'wechat', 'carol_wx', '2025-01-01');

      CREATE TABLE marts.fct_service_tickets (ticket_id VARCHAR, customer_key VARCHAR, channel VARCHAR, category VARCHAR,
        opened_at TIMESTAMP, resolved_at TIMESTAMP, is_open BOOLEAN, satisfaction INTEGER, brand VARCHAR);
      INSERT INTO marts.fct_service_tickets VALUES
        ('t1', 'c1', 'wechat', 'complaint', '2025-02-01 10:00', '2025-02-02 10:00', false, 2, 'Li-Ning'),
        ('t2', 'c1', 'phone', 'pre_sale', '2025-01-05 10:00', '2025-01-05 11:00', false, 5, NULL),
        ('t3', 'c3', 'email', 'return', '2025-02-25 10:00', NULL, true, NULL, 'Li-Ning');
      CREATE TABLE marts.fct_opinion_mentions (post_id VARCHAR, customer_key VARCHAR, platform VARCHAR, published_at TIMESTAMP,
        brand VARCHAR, sentiment_score DOUBLE, sentiment_label VARCHAR, is_negative BOOLEAN, text VARCHAR);
      INSERT INTO marts.fct_opinion_mentions VALUES
        ('p1', 'c1', 'weibo', '2025-02-03 08:00', 'Li-Ning', -0.6, 'negative', true, '发货太慢了'),
        ('p2', 'c3', 'xiaohongshu', '2025-02-26 08:00', 'Li-Ning', 0.5, 'positive', false, 'love the fit'),
        ('p3', NULL, 'weibo', '2025-02-26 09:00', 'Anta', 0.1, 'neutral', false, 'ok');

      CREATE TABLE marts.fct_customer_triggers (trigger_date DATE, customer_key VARCHAR, trigger_type VARCHAR, reason VARCHAR,
        priority INTEGER, suggested_channel VARCHAR, category VARCHAR, brand VARCHAR, is_contactable BOOLEAN);
      INSERT INTO marts.fct_customer_triggers VALUES
        ('2025-03-01', 'c3', 'retain_at_risk', 'No order for 9 days; usual gap 5 days; churn risk high', 90, 'wechat', NULL, 'Li-Ning', true),
        ('2025-03-01', 'c1', 'service_recovery', 'Complaint t1 rated 2/5 on 2025-02-02', 80, 'phone', NULL, 'Li-Ning', true),
        ('2025-03-01', 'c1', 'cross_sell', 'Bought running shoes, "quoted, comma" socks not bought', 40, 'email', 'socks', 'Li-Ning', true),
        ('2025-02-20', 'c2', 'retain_at_risk', 'must never be listed: no consent', 99, 'sms', NULL, 'Anta', false);

      -- The CLV model in use (dbt: dim_clv_model): run r3 reused r1's MBG/NBD fit. 18:30 UTC on Dec 6 is
      -- Dec 7 in Shanghai: the day a caption shows depends on the zone the API reads it in.
      CREATE TABLE marts.dim_clv_model (model_name VARCHAR NOT NULL, model_label VARCHAR, model_version VARCHAR, status VARCHAR,
        reason VARCHAR, run_id VARCHAR, scored_at TIMESTAMP, calibration_end TIMESTAMP, is_reused_fit BOOLEAN, fit_run_id VARCHAR,
        fitted_at TIMESTAMP, fit_calibration_end TIMESTAMP, holdout_days INTEGER, holdout_model_mae DOUBLE, holdout_baseline_mae DOUBLE);
      INSERT INTO marts.dim_clv_model VALUES
        ('mbgnbd', 'MBG/NBD', '1', 'fitted', 'reused the fit of run r1 (calibration end 2026-12-05T16:00:00.000Z, 3 days earlier)', 'r3',
         '2026-12-09 01:00', '2026-12-08 16:00', true, 'r1', '2026-12-06 18:30', '2026-12-05 16:00', 90, 0.41, 0.52);

      CREATE SCHEMA ops;
      CREATE TABLE ops.pipeline_runs (run_id VARCHAR, command VARCHAR, args VARCHAR, status VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, seconds DOUBLE, pid INTEGER, published BOOLEAN, error VARCHAR);
      INSERT INTO ops.pipeline_runs VALUES
        ('r1', 'run', '[]', 'succeeded', '2025-03-01 01:00', '2025-03-01 01:05', 300, 1, true, NULL),
        ('r2', 'run', '[]', 'failed', '2025-03-02 01:00', '2025-03-02 01:02', 120, 2, false, 'dbt test failed'),
        ('r3', 'run', '[]', 'running', '2025-03-03 01:00', NULL, NULL, 3, false, NULL);
      CREATE TABLE ops.pipeline_steps (run_id VARCHAR, step_id VARCHAR, kind VARCHAR, status VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, seconds DOUBLE, attempts INTEGER, rows_in BIGINT, rows_out BIGINT, rejects BIGINT, error VARCHAR, detail VARCHAR);
      INSERT INTO ops.pipeline_steps VALUES
        ('r1', 'extract:orders', 'extract', 'succeeded', '2025-03-01 01:00', '2025-03-01 01:01', 60, 1, 10, 10, 0, NULL, NULL),
        ('r1', 'extract:profiles', 'extract', 'succeeded', '2025-03-01 01:00', '2025-03-01 01:00:30', 30, 1, 4, 4, 0, NULL, NULL),
        ('r1', 'dbt', 'dbt', 'succeeded', '2025-03-01 01:01', '2025-03-01 01:04', 180, 1, NULL, NULL, NULL, NULL, NULL),
        ('r2', 'extract:orders', 'extract', 'succeeded', '2025-03-02 01:00', '2025-03-02 01:01', 60, 1, 1, 1, 0, NULL, NULL),
        ('r3', 'extract:orders', 'extract', 'succeeded', '2025-03-03 01:00', '2025-03-03 01:01', 60, 1, 2, 2, 0, NULL, NULL),
        ('r3', 'dbt', 'dbt', 'succeeded', '2025-03-03 01:01', '2025-03-03 01:04', 180, 1, NULL, NULL, NULL, NULL, NULL);
      CREATE TABLE ops.dbt_results (run_id VARCHAR, step_id VARCHAR, unique_id VARCHAR, resource_type VARCHAR, status VARCHAR,
        seconds DOUBLE, failures BIGINT, rows_affected BIGINT, message VARCHAR);
      INSERT INTO ops.dbt_results VALUES
        ('r1', 'dbt', 'model.crm.fct_orders', 'model', 'success', 1, 0, 8, NULL),
        ('r1', 'dbt', 'model.crm.customer_value', 'model', 'success', 1, 0, 4, NULL),
        ('r3', 'dbt', 'model.crm.fct_orders', 'model', 'success', 1, 0, 8, NULL);
    `);
    if (options.bulkTriggers) {
      await connection.run(`
        INSERT INTO marts.fct_customer_triggers
        SELECT DATE '2024-01-01' + CAST(i % 365 AS INTEGER), 'bulk' || lpad(CAST(i AS VARCHAR), 8, '0'), 'cross_sell',
               'Bought item ' || CAST(i AS VARCHAR) || ' of a set whose other pieces were never bought; suggest the matching piece to complete it',
               CAST(i % 100 AS INTEGER), 'email', 'set', 'BulkBrand', true
        FROM range(${options.bulkTriggers}) t(i)`);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return filePath;
}
