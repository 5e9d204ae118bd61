import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSampleData, DEFAULT_GENERATE_OPTIONS } from '../../pipelines/sources/sample-data/generate.ts';
import { LANDING_FILES, type GroundTruth } from '../../pipelines/sources/sample-data/landing-layout.ts';
import { runPipeline } from '../../cli/pipeline.ts';
import type { PipelineSummary } from '../../pipelines/run/run-pipeline.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { startApiServer } from '../../api/server.ts';
import { signDevToken } from '../../api/auth.ts';
import { runDbt } from '../../pipelines/transform/dbt-cli.ts';

/**
 * The whole journey once: generated files -> extractors -> DuckDB raw -> dbt -> Cube compiler ->
 * HTTP API. The expected figures are computed here from the generated source files alone.
 */
const SECRET = 'e2e-secret-0123456789abcdef0123456789';
/** This file's own pseudonym key (what runDbt hands to dbt), random per run, for the brute-force checks below. */
const PSEUDONYM_KEY = crypto.randomBytes(32).toString('hex');
const previousPseudonymKey = process.env.CRM_PSEUDONYM_KEY;
const TIMEZONE = 'Asia/Shanghai';
let workDir: string;
let landingDir: string;
let warehousePath: string;
let truth: GroundTruth;
let firstRun: PipelineSummary;
let api: { url: string; close(): Promise<void> };

beforeAll(async () => {
  process.env.CRM_PSEUDONYM_KEY = PSEUDONYM_KEY;
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-e2e-'));
  landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'warehouse', 'crm.duckdb');
  truth = await generateSampleData({
    ...DEFAULT_GENERATE_OPTIONS,
    outDir: landingDir,
    seed: 7,
    customers: 300,
    orders: 3_000,
    malformedRate: 0.01,
  });
  // With dbt's unit tests (scheduled runs leave them out by default, config transform.unitTests).
  firstRun = await runPipeline({ warehousePath, landingDir, interactive: false, unitTests: true });
});

afterAll(async () => {
  await api?.close();
  fs.rmSync(workDir, { recursive: true, force: true });
  if (previousPseudonymKey === undefined) delete process.env.CRM_PSEUDONYM_KEY;
  else process.env.CRM_PSEUDONYM_KEY = previousPseudonymKey;
});

/** Month (YYYY-MM) of an instant in the reporting time zone, computed without the warehouse. */
function monthIn(timeZone: string, isoTimestamp: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(new Date(isoTimestamp));
  return `${parts.find((p) => p.type === 'year')!.value}-${parts.find((p) => p.type === 'month')!.value}`;
}

const cents = (amount: string) => Math.round(Number(amount) * 100);

/** Revenue (in cents) and distinct buyers per month, straight from orders.csv and order_items.csv. */
function expectedMonthlyFigures(): Map<string, { revenueCents: number; buyers: Set<string> }> {
  const malformedOrders = new Set(truth.malformed.orders);
  const malformedItems = new Set(truth.malformed.orderItems);
  const orders = parse(fs.readFileSync(path.join(landingDir, LANDING_FILES.orders)), { columns: true }) as Record<string, string>[];
  const items = parse(fs.readFileSync(path.join(landingDir, LANDING_FILES.orderItems)), { columns: true }) as Record<string, string>[];
  // The export holds several versions of some orders (refunds, duplicates): the newest counts.
  const latest = new Map<string, Record<string, string>>();
  for (const order of orders) {
    if (malformedOrders.has(order.order_id!)) continue;
    const seen = latest.get(order.order_id!);
    if (!seen || Date.parse(order.updated_at!) >= Date.parse(seen.updated_at!)) latest.set(order.order_id!, order);
  }
  const grossByOrder = new Map<string, number>();
  for (const item of items) {
    if (malformedItems.has(`${item.order_id}#${item.line_no}`)) continue;
    grossByOrder.set(item.order_id!, (grossByOrder.get(item.order_id!) ?? 0) + Number(item.quantity) * cents(item.unit_price!));
  }
  const byMonth = new Map<string, { revenueCents: number; buyers: Set<string> }>();
  for (const order of latest.values()) {
    if (order.status === 'cancelled' || order.status === 'refunded') continue;
    const month = monthIn(TIMEZONE, order.ordered_at!);
    const entry = byMonth.get(month) ?? { revenueCents: 0, buyers: new Set<string>() };
    entry.revenueCents += (grossByOrder.get(order.order_id!) ?? 0) - cents(order.discount_amount!);
    entry.buyers.add(order.customer_id!);
    byMonth.set(month, entry);
  }
  return byMonth;
}

describe('pipeline to API, end to end', () => {
  it('loads every valid record and quarantines exactly the malformed ones', async () => {
    const orders = firstRun.extracts.find((e) => e.source === 'orders')!.tables.find((t) => t.table === 'orders')!;
    expect(orders.inserted).toBe(truth.counts.orders);
    expect(orders.rejected).toBe(truth.malformed.orders.length);
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const rows = (
        await warehouse.connection.runAndReadAll(`SELECT raw_table, record_key FROM raw._quarantine ORDER BY raw_table, record_key`)
      ).getRows();
      const quarantined = (table: string) =>
        rows
          .filter((r) => r[0] === table)
          .map((r) => String(r[1]).split('|').join('#'))
          .sort();
      expect(quarantined('orders')).toEqual([...truth.malformed.orders].sort());
      expect(quarantined('order_items')).toEqual([...truth.malformed.orderItems].sort());
      expect(quarantined('service_tickets')).toEqual([...truth.malformed.tickets].sort());
      const reasons = (await warehouse.connection.runAndReadAll(`SELECT DISTINCT reason FROM raw._quarantine WHERE raw_table = 'orders'`))
        .getRows()
        .flat();
      expect(reasons.join('\n')).toMatch(/customer_id: required|ordered_at: |status: /);
    } finally {
      warehouse.close();
    }
    expect(firstRun.dbt?.models).toBeGreaterThanOrEqual(6);
    expect(firstRun.dbt?.unitTests).toBeGreaterThanOrEqual(1);
  });

  it('answers revenue and customer count by month over HTTP, equal to figures computed from the source files', async () => {
    api = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1' });
    const token = await signDevToken(SECRET, { sub: 'e2e', role: 'analyst' });
    const response = await fetch(`${api.url}/cubejs-api/v1/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token },
      body: JSON.stringify({
        query: {
          measures: ['executive_kpis.revenue', 'executive_kpis.buyer_count'],
          timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
          order: { 'executive_kpis.ordered_at': 'asc' },
          timezone: TIMEZONE,
        },
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, string | number>[] };
    const actual = new Map(
      body.data.map((row) => [
        String(row['executive_kpis.ordered_at.month']).slice(0, 7),
        { revenueCents: cents(String(row['executive_kpis.revenue'])), buyers: Number(row['executive_kpis.buyer_count']) },
      ]),
    );
    const expected = expectedMonthlyFigures();
    expect(expected.size).toBeGreaterThan(12);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [month, figures] of expected) {
      expect({ month, ...actual.get(month) }).toEqual({ month, revenueCents: figures.revenueCents, buyers: figures.buyers.size });
    }
  });

  it('re-running the pipeline on the same files changes nothing', async () => {
    await api?.close();
    const second = await runPipeline({ warehousePath, landingDir, interactive: false });
    expect(second.extracts.flatMap((extract) => extract.tables).length).toBeGreaterThan(5);
    for (const extract of second.extracts) {
      for (const table of extract.tables) {
        expect({ table: table.table, inserted: table.inserted, updated: table.updated }).toEqual({
          table: table.table,
          inserted: 0,
          updated: 0,
        });
      }
    }
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const counts = (
        await warehouse.connection.runAndReadAll(
          // Rejected lines: the quarantine keeps a row per raw table (a bad profile line is rejected for
          // customers and customer_versions), so lines are its distinct source, location and payload.
          `SELECT (SELECT count(*) FROM raw.orders), (SELECT count(*) FROM (SELECT DISTINCT source, location, payload_md5 FROM raw._quarantine)),
                  (SELECT count(*) FROM marts.fct_orders)`,
        )
      )
        .getRows()[0]!
        .map(Number);
      const rejectedTotal = Object.values(truth.malformed).reduce((n, keys) => n + keys.length, 0);
      expect(counts).toEqual([truth.counts.orders, rejectedTotal, truth.counts.orders]);
    } finally {
      warehouse.close();
    }
  });
});

/** dbt's normalize_phone (macros/contact_points.sql): national digits, null under 7 digits. */
function nationalDigits(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const trimmed = String(raw).trim();
  const digits = trimmed.replace(/[^0-9]/g, '');
  if (digits.length < 7) return null;
  if (/^(\+86|\(\+86\)|0086)/.test(trimmed)) return digits.slice(trimmed.startsWith('0086') ? 4 : 2);
  if (/^(\+1|\(\+1\))/.test(trimmed)) return digits.slice(1);
  if (digits.length === 13 && digits.startsWith('86')) return digits.slice(2);
  return digits;
}

/** dbt's normalize_email: trimmed, lower case, null without an '@' and a dot after it. */
function normalizedEmail(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const value = String(raw).trim().toLowerCase();
  return /^.+@.+\..+$/.test(value) ? value : null;
}

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : entry.isFile() ? [full] : [];
  });
}

describe('contact-point pseudonyms: what an analyst reads does not give the contact points back', () => {
  const sha256 = (value: string) => crypto.hash('sha256', value);
  const hmacWith = (key: string) => (value: string) => crypto.createHmac('sha256', key).update(value, 'utf8').digest('hex');
  const WRONG_KEY = crypto.randomBytes(32).toString('hex');
  const ROTATED_KEY = crypto.randomBytes(32).toString('hex');
  type Profile = {
    key: string;
    phoneMasked: string | null;
    phonePseudonym: string | null;
    emailMasked: string | null;
    emailPseudonym: string | null;
  };
  let analystRows: Profile[];
  let truth: Map<string, { phone: string | null; email: string | null }>;

  it('an analyst reads masks and pseudonyms over /cubejs-api/v1/load, never the raw values; the phone mask shows the last four digits only', async () => {
    const server = await startApiServer({ warehousePath, jwtSecret: SECRET, port: 0, host: '127.0.0.1' });
    try {
      // Contact points are read through the customer_contacts view (customer_profiles is private):
      // the view keeps the cube's policies, so masking and row scopes hold through it.
      const load = async (role: string, dimensions: string[], scope: { regions?: string[] } = {}, view = 'customer_contacts') => {
        const response = await fetch(`${server.url}/cubejs-api/v1/load`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: await signDevToken(SECRET, { sub: role, role, ...scope }) },
          body: JSON.stringify({ query: { dimensions: dimensions.map((d) => `${view}.${d}`), limit: 50_000 } }),
        });
        return { status: response.status, body: (await response.json()) as { data: Record<string, unknown>[]; error?: string } };
      };
      const analyst = await load('analyst', ['customer_key', 'phone_masked', 'phone_pseudonym', 'email_masked', 'email_pseudonym']);
      expect(analyst.status, analyst.body.error).toBe(200);
      analystRows = analyst.body.data.map((r) => ({
        key: String(r['customer_contacts.customer_key']),
        phoneMasked: r['customer_contacts.phone_masked'] as string | null,
        phonePseudonym: r['customer_contacts.phone_pseudonym'] as string | null,
        emailMasked: r['customer_contacts.email_masked'] as string | null,
        emailPseudonym: r['customer_contacts.email_pseudonym'] as string | null,
      }));
      for (const raw of ['phone', 'mobile', 'email']) {
        const refused = await load('analyst', ['customer_key', raw]);
        expect(refused.status, raw).toBe(403);
        expect(refused.body.error).toContain(`'customer_profiles.${raw}'`); // the cube's policy, applied through the view
      }
      // The cube itself is not the public surface: its members are a 400, for every role.
      const direct = await load('marketing', ['customer_key', 'phone'], {}, 'customer_profiles');
      expect(direct.status).toBe(400);
      expect(direct.body.error).toMatch(/hidden member/);
      // The truth the attacker is after, read as marketing (allowed to see raw contact points).
      const marketing = await load('marketing', ['customer_key', 'city', 'phone', 'mobile', 'email']);
      expect(marketing.status, marketing.body.error).toBe(200);
      // A regions scope holds through the view: a marketing token of one city gets exactly that
      // city's people, with their raw contact points; an analyst of that city, the masks only.
      const city = String(marketing.body.data.find((r) => r['customer_contacts.city'])!['customer_contacts.city']);
      const ofCity = marketing.body.data.filter((r) => r['customer_contacts.city'] === city);
      const scoped = await load('marketing', ['customer_key', 'city', 'phone', 'mobile', 'email'], { regions: [city] });
      expect(scoped.status, scoped.body.error).toBe(200);
      expect(ofCity.length).toBeGreaterThan(0);
      expect(ofCity.length).toBeLessThan(marketing.body.data.length);
      const sortedKeys = (rows: Record<string, unknown>[]) => rows.map((r) => String(r['customer_contacts.customer_key'])).sort();
      expect(sortedKeys(scoped.body.data)).toEqual(sortedKeys(ofCity));
      expect(scoped.body.data.map((r) => r['customer_contacts.email']).sort()).toEqual(
        ofCity.map((r) => r['customer_contacts.email']).sort(),
      );
      const scopedAnalyst = await load('analyst', ['customer_key', 'phone_masked'], { regions: [city] });
      expect(scopedAnalyst.status, scopedAnalyst.body.error).toBe(200);
      expect(sortedKeys(scopedAnalyst.body.data)).toEqual(sortedKeys(ofCity));
      expect((await load('analyst', ['customer_key', 'email'], { regions: [city] })).status).toBe(403);
      truth = new Map(
        marketing.body.data.map((r) => [
          String(r['customer_contacts.customer_key']),
          {
            phone: nationalDigits(r['customer_contacts.mobile'] ?? r['customer_contacts.phone']),
            email: normalizedEmail(r['customer_contacts.email']),
          },
        ]),
      );
    } finally {
      await server.close();
    }
    const withPhone = analystRows.filter((r) => r.phonePseudonym !== null);
    expect(withPhone.length).toBeGreaterThan(200);
    expect(analystRows.filter((r) => r.emailPseudonym !== null).length).toBeGreaterThan(200);
    expect(new Set(withPhone.map((r) => r.phonePseudonym)).size).toBe(withPhone.length);
    for (const row of analystRows) {
      const real = truth.get(row.key)!;
      expect(row.phonePseudonym === null, row.key).toBe(real.phone === null);
      expect(row.emailPseudonym === null, row.key).toBe(real.email === null);
      if (real.phone !== null) {
        expect(row.phoneMasked).toMatch(/^\*{4}\d{4}$/);
        expect(row.phoneMasked).toBe(`****${real.phone.slice(-4)}`);
        expect(row.phonePseudonym).toMatch(/^[0-9a-f]{64}$/);
      }
      if (real.email !== null) expect(row.emailMasked).toBe(`${real.email[0]}***@${real.email.split('@')[1]}`);
    }
  });

  it('brute force over what the mask leaves recovers no phone and confirms no e-mail, unless with the deployment key', () => {
    expect(analystRows, 'the previous test read the rows').toBeDefined();
    // The analyst sees ****1234: 10^(n-4) candidates for an n-digit number. The attacker here is
    // granted more, the first three digits the old mask printed (138****1234) and the length, so
    // each row leaves 10^(n-7) candidates (10^4 for a Chinese mobile, 10^3 for a +1 number): the
    // true number is always among them. Each candidate is tried under three functions.
    const schemes = { unsaltedSha256: sha256, hmacWrongKey: hmacWith(WRONG_KEY), hmacDeploymentKey: hmacWith(PSEUDONYM_KEY) };
    const recovered = { unsaltedSha256: 0, hmacWrongKey: 0, hmacDeploymentKey: 0 };
    const tried = { unsaltedSha256: 0, hmacWrongKey: 0, hmacDeploymentKey: 0 };
    let rows = 0;
    const started = Date.now();
    for (const row of analystRows.filter((r) => r.phonePseudonym !== null)) {
      const real = truth.get(row.key)!.phone!;
      const prefix = real.slice(0, 3);
      const suffix = row.phoneMasked!.slice(-4);
      const unknown = real.length - 7;
      rows += 1;
      for (const [name, fn] of Object.entries(schemes) as [keyof typeof schemes, (v: string) => string][]) {
        for (let i = 0; i < 10 ** unknown; i++) {
          const candidate = prefix + String(i).padStart(unknown, '0') + suffix;
          tried[name] += 1;
          if (fn(candidate) === row.phonePseudonym) {
            expect(candidate).toBe(real);
            recovered[name] += 1;
            break;
          }
        }
      }
    }
    // E-mail: the attacker's guess is right (the address itself); can it be confirmed?
    const confirmed = { unsaltedSha256: 0, hmacWrongKey: 0, hmacDeploymentKey: 0 };
    const emails = analystRows.filter((r) => r.emailPseudonym !== null);
    for (const row of emails) {
      const guess = truth.get(row.key)!.email!;
      for (const [name, fn] of Object.entries(schemes) as [keyof typeof schemes, (v: string) => string][]) {
        if (fn(guess) === row.emailPseudonym) confirmed[name] += 1;
      }
    }
    console.info(
      `pseudonym brute force: ${rows} phones, candidates tried ${JSON.stringify(tried)}, recovered ${JSON.stringify(recovered)}; ` +
        `${emails.length} e-mails guessed right, confirmed ${JSON.stringify(confirmed)}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(tried.unsaltedSha256).toBeGreaterThan(rows * 1_000);
    expect(recovered.unsaltedSha256).toBe(0);
    expect(recovered.hmacWrongKey).toBe(0);
    expect(confirmed.unsaltedSha256).toBe(0);
    expect(confirmed.hmacWrongKey).toBe(0);
    // Positive control: the same attack with the key recovers every number and confirms every e-mail,
    // so the zeros above are the key's doing, not a broken attack.
    expect(recovered.hmacDeploymentKey).toBe(rows);
    expect(confirmed.hmacDeploymentKey).toBe(emails.length);
  });

  it("the key is nowhere in the warehouse, dbt's compiled and run SQL or its logs; the same key rebuilds the same pseudonyms, another key changes them all", async () => {
    // A build of dim_customers into a copy, so its compiled and run SQL and its debug log are on disk
    // (the pipeline's last dbt step, source:ml+, leaves only its own nodes in target/).
    const copy = path.join(workDir, 'pseudonym-check', 'crm.duckdb');
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(warehousePath, copy);
    const pseudonyms = async (file: string) => {
      const warehouse = await openWarehouse(file, { readOnly: true });
      try {
        const rows = (
          await warehouse.connection.runAndReadAll(
            'SELECT customer_key, phone_masked, phone_pseudonym, email_pseudonym FROM marts.dim_customers ORDER BY customer_key',
          )
        ).getRows();
        return rows.map((r) => r.map((v) => (v === null ? null : String(v))));
      } finally {
        warehouse.close();
      }
    };
    const published = await pseudonyms(warehousePath);
    await runDbt({ args: ['run', '--select', 'dim_customers'], warehousePath: copy });
    expect(await pseudonyms(copy)).toEqual(published);

    const keyBytes = [PSEUDONYM_KEY, ROTATED_KEY].map((k) => Buffer.from(k, 'utf8'));
    const scanned = filesUnder(workDir);
    const leaks = scanned.filter((file) => keyBytes.some((key) => fs.readFileSync(file).includes(key)));
    const sqlOf = (kind: 'compiled' | 'run') =>
      scanned.find((f) => f.includes(`${path.sep}target${path.sep}${kind}${path.sep}`) && f.endsWith(`${path.sep}dim_customers.sql`));
    // The compiled model calls the pseudonym function by name; the run file of an incremental build
    // is its delete+insert over the temp relation the compiled SELECT filled (the log shows both).
    expect(fs.readFileSync(sqlOf('compiled')!, 'utf8')).toContain('crm_pseudonym(cast(profile.phone_normalized as');
    expect(fs.readFileSync(sqlOf('run')!, 'utf8')).toMatch(/insert into/i);
    const dbtLogs = scanned.filter((f) => f.endsWith(`${path.sep}logs${path.sep}dbt.log`));
    expect(dbtLogs.length).toBeGreaterThan(0);
    expect(dbtLogs.some((f) => fs.readFileSync(f, 'utf8').includes('crm_pseudonym('))).toBe(true);
    expect(scanned.filter((f) => f.endsWith('.duckdb')).length).toBeGreaterThanOrEqual(3);
    expect(leaks).toEqual([]);
    // DuckDB compresses strings, so also ask it: no value, view or macro text holds the key.
    const warehouse = await openWarehouse(warehousePath, { readOnly: true });
    try {
      const columns = (
        await warehouse.connection.runAndReadAll(
          "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE data_type = 'VARCHAR' AND NOT internal AND database_name = current_database()",
        )
      ).getRows();
      expect(columns.length).toBeGreaterThan(50);
      const hits = [];
      for (const [schema, table, column] of columns) {
        const [[count]] = (
          await warehouse.connection.runAndReadAll(
            `SELECT count(*) FROM "${String(schema)}"."${String(table)}" WHERE contains("${String(column)}", $1)`,
            [PSEUDONYM_KEY],
          )
        ).getRows() as [[bigint]];
        if (Number(count) > 0) hits.push(`${String(schema)}.${String(table)}.${String(column)}`);
      }
      const [[definitions]] = (
        await warehouse.connection.runAndReadAll(
          `SELECT (SELECT count(*) FROM duckdb_views() WHERE contains(sql, $1)) + (SELECT count(*) FROM duckdb_functions() WHERE contains(coalesce(macro_definition, ''), $1))`,
          [PSEUDONYM_KEY],
        )
      ).getRows() as [[bigint]];
      expect({ hits, definitions: Number(definitions) }).toEqual({ hits: [], definitions: 0 });
    } finally {
      warehouse.close();
    }

    // Rotation: another key rewrites every pseudonym (the incremental build sees the key change and rebuilds every person), masks unchanged.
    process.env.CRM_PSEUDONYM_KEY = ROTATED_KEY;
    try {
      await runDbt({ args: ['run', '--select', 'dim_customers'], warehousePath: copy });
    } finally {
      process.env.CRM_PSEUDONYM_KEY = PSEUDONYM_KEY;
    }
    const rotated = await pseudonyms(copy);
    expect(rotated.map((r) => r.slice(0, 2))).toEqual(published.map((r) => r.slice(0, 2)));
    for (const column of [2, 3]) {
      const present = published.filter((r) => r[column] !== null).length;
      expect(present).toBeGreaterThan(200);
      expect(rotated.filter((r, i) => r[column] !== null && r[column] !== published[i]![column]).length, `column ${column}`).toBe(present);
    }
    const leaked = filesUnder(workDir).filter((file) => keyBytes.some((key) => fs.readFileSync(file).includes(key)));
    expect(leaked).toEqual([]);
  });
});
