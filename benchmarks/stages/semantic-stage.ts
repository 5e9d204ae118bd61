import path from 'node:path';
import pg from 'pg';
import { startApiProcess, startBaselineProcess, type ApiProcess } from '../api-process.ts';
import { runWorker } from '../child-process.ts';
import { dashboardQueries, type DashboardQuery } from '../dashboard-queries.ts';
import { sqlOfCubeQuery, type SqlQuestion } from '../sql-door-queries.ts';
import { loadSemanticModel } from '../../semantic/semantic-model.ts';
import { cubeModelDir } from '../../shared/paths.ts';
import type { BenchDataset } from '../dataset.ts';
import type { BenchScale } from '../scales.ts';
import { servedWarehouse } from '../served-warehouse.ts';
import { round, type StageResult } from '../stage-result.ts';

/** The dashboard's zone; rollups are built for it (and UTC). */
const TIMEZONE = 'Asia/Shanghai';
const GOAL_P95_MS = 30;
const WARM_UP_ROUNDS = 2;

interface Statement {
  sql: string;
  params: unknown[];
}
interface Timed<T> {
  ms: number;
  body: T;
}

/** One timed HTTP POST with a JSON body, the response parsed (what a dashboard waits for). */
async function post<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Timed<T>> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const parsed = (await response.json()) as T & { error?: string };
  const ms = performance.now() - started;
  if (!response.ok)
    throw new Error(`POST ${new URL(url).pathname} ${response.status}: ${parsed.error ?? JSON.stringify(parsed).slice(0, 300)}`);
  return { ms, body: parsed };
}

type LoadBody = {
  data?: unknown[];
  usedPreAggregations?: Record<string, unknown>;
  results?: { data: unknown[]; usedPreAggregations: Record<string, unknown> }[];
};
type SqlBody = { sql: { sql: [string, unknown[]]; usedPreAggregations: Record<string, unknown> } };

const resultsOf = (body: LoadBody) => body.results ?? [{ data: body.data ?? [], usedPreAggregations: body.usedPreAggregations ?? {} }];
const rowCount = (body: LoadBody) => resultsOf(body).reduce((n, r) => n + r.data.length, 0);
const fromRollups = (body: LoadBody) => resultsOf(body).every((r) => Object.keys(r.usedPreAggregations).length > 0);

/** Nearest-rank percentile of a sample, in ms. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** The SQL the API would run for a query (Cube's /sql: after access control and rollup routing), one statement per range. */
async function sqlOf(api: ApiProcess, query: Record<string, unknown>): Promise<{ statements: Statement[]; rollups: boolean }> {
  const { body } = await post<SqlBody | SqlBody[]>(`${api.url}/cubejs-api/v1/sql`, { query }, { authorization: api.token });
  const bodies = Array.isArray(body) ? body : [body];
  return {
    statements: bodies.map((b) => ({ sql: b.sql.sql[0], params: b.sql.sql[1] })),
    rollups: bodies.every((b) => Object.keys(b.sql.usedPreAggregations).length > 0),
  };
}

interface Mode {
  id: 'pre' | 'marts' | 'pre-reopen' | 'duckdb-pre' | 'duckdb-marts' | 'sql';
  run(query: DashboardQuery): Promise<Timed<number>>;
}

/**
 * Stage 3: the dashboard's query set (benchmarks/dashboard-queries.ts) through POST
 * /cubejs-api/v1/load with the result cache bypassed (Cube's renewQuery), p50 and p95 latency
 * measured by the client over loopback HTTP:
 *   (a) the API over the warehouse with its rollups (Cube's matching picks them);
 *   (b) the API over a copy without the pre_aggregations schema (every answer from the marts);
 *   (c) baseline: the same SQL (Cube's /sql of (a) and of (b)) run by DuckDB directly in a bare
 *       Fastify process of the same shape, so a/c and b/c are the overhead of the semantic layer;
 *   (d) the API of (a) reopening the file for every query, against (a): the cost of a reopen;
 *   (e) the same questions as SQL through the SQL door of (a)'s process (benchmarks/sql-door-queries.ts,
 *       one pg connection, `SET crm.renew_query = on`), against (a): the cost of the Postgres door.
 * Each query runs `repeat` times per mode, the modes interleaved so noise hits them alike.
 */
export async function semanticStage(
  dataset: BenchDataset,
  scale: BenchScale,
  workDir: string,
  log: (line: string) => void,
  repeat: number,
): Promise<StageResult> {
  const warehouse = await servedWarehouse(dataset, workDir, log);
  const withoutRollups = path.join(workDir, 'semantic', 'no-pre-aggregations.duckdb');
  const stripped = await runWorker('strip-pre-aggregations', { from: warehouse, to: withoutRollups });
  log(`copy without pre-aggregations: ${String(stripped.dropped)} rollup tables dropped`);

  // apiReopen lets go of the file after every query (CRM_API_IDLE_CLOSE_MS=1): the first click
  // after a pause longer than the idle close, which the default keeps rare.
  const [api, apiMarts, apiReopen, baseline] = await Promise.all([
    startApiProcess(warehouse, {}, 'executive', { sql: true }),
    startApiProcess(withoutRollups),
    startApiProcess(warehouse, { CRM_API_IDLE_CLOSE_MS: '1' }),
    startBaselineProcess(warehouse),
  ]);
  let sqlClientOf: pg.Client | undefined;
  try {
    const asOfRows = await post<{ data: { d: string; n: number }[] }>(`${baseline.url}/sql`, {
      sql: `SELECT strftime(max(ordered_at), '%Y-%m-%d') AS d, count(*) AS n FROM marts.fct_orders`,
    });
    const asOf = asOfRows.body.data[0]!.d;
    const queries = dashboardQueries({ asOf, timezone: TIMEZONE });
    const auth = (a: ApiProcess) => ({ authorization: a.token });

    // Each query's SQL from both APIs, and whether the rollups answer it.
    const planned = new Map<string, { pre: Statement[]; marts: Statement[]; rollups: boolean }>();
    for (const q of queries) {
      const pre = await sqlOf(api, q.query);
      const marts = await sqlOf(apiMarts, q.query);
      if (marts.rollups) throw new Error(`${q.id}: the API without pre-aggregations still reads a rollup`);
      planned.set(q.id, { pre: pre.statements, marts: marts.statements, rollups: pre.rollups });
    }

    // The same questions as SQL, over one connection to (a)'s SQL door, result cache bypassed like renewQuery.
    const model = await loadSemanticModel(cubeModelDir);
    const measureNames = new Set(model.meta.cubes.flatMap((c) => c.measures.map((m) => m.name)));
    const sqlQuestions = new Map<string, SqlQuestion>();
    for (const q of queries) {
      const question = sqlOfCubeQuery(q.query, measureNames);
      if (question) sqlQuestions.set(q.id, question);
    }
    const sqlClient = new pg.Client({ host: '127.0.0.1', port: api.sqlPort!, user: 'bench', database: 'crm', password: api.token });
    sqlClientOf = sqlClient;
    await sqlClient.connect();
    await sqlClient.query('SET crm.renew_query = on');
    let sqlTimezone = '';
    // Whether the SQL door's plan of each question reads rollups (EXPLAIN), to set beside /sql's for REST.
    const sqlRollups = new Map<string, boolean>();
    for (const [id, question] of sqlQuestions) {
      await sqlClient.query(`SET TIME ZONE '${question.timezone}'`);
      let all = true;
      for (const statement of question.statements) {
        const plan = await sqlClient.query(`EXPLAIN ${statement}`);
        all &&= plan.rows.some((r) => String(r['QUERY PLAN']).startsWith('Source: rollup'));
      }
      sqlRollups.set(id, all);
    }

    // The numbers themselves: each question's rows through the SQL door (Postgres text) against
    // /load's data for the same question (times as Postgres writes them), value for value.
    const raw = { getTypeParser: () => (value: string) => value };
    const textOf = (value: unknown) =>
      value === null || value === undefined
        ? null
        : typeof value === 'boolean'
          ? value
            ? 't'
            : 'f'
          : String(value).replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.0+)?$/, '$1 $2');
    const valueMismatches: string[] = [];
    for (const q of queries) {
      const question = sqlQuestions.get(q.id);
      if (!question) continue;
      await sqlClient.query(`SET TIME ZONE '${question.timezone}'`);
      const sqlRows: unknown[][] = [];
      for (const statement of question.statements) {
        sqlRows.push(...(await sqlClient.query({ text: statement, rowMode: 'array', types: raw as any })).rows);
      }
      const { body } = await post<LoadBody>(`${api.url}/cubejs-api/v1/load`, { query: q.query, queryType: 'multi' }, auth(api));
      const restRows = resultsOf(body).flatMap((r) =>
        (r.data as Record<string, unknown>[]).map((row) => question.keys.map((k) => textOf(row[k]))),
      );
      if (JSON.stringify(sqlRows) !== JSON.stringify(restRows)) {
        const at = Math.max(
          0,
          sqlRows.findIndex((row, n) => JSON.stringify(row) !== JSON.stringify(restRows[n])),
        );
        valueMismatches.push(
          `${q.id} (${sqlRows.length} / ${restRows.length} rows; row ${at}: SQL ${JSON.stringify(sqlRows[at])}, REST ${JSON.stringify(restRows[at])})`,
        );
      }
    }
    sqlTimezone = '';

    const rows = new Map<string, Map<string, number>>(); // query -> mode -> rows answered
    const note = (q: DashboardQuery, mode: string, count: number) => {
      const byMode = rows.get(q.id) ?? new Map<string, number>();
      byMode.set(mode, count);
      rows.set(q.id, byMode);
    };
    const loadVia = (target: ApiProcess, id: Mode['id']) => async (q: DashboardQuery) => {
      const { ms, body } = await post<LoadBody>(
        `${target.url}/cubejs-api/v1/load`,
        { query: { ...q.query, renewQuery: true }, queryType: 'multi' },
        auth(target),
      );
      note(q, id, rowCount(body));
      if ((id === 'pre' || id === 'pre-reopen') && fromRollups(body) !== planned.get(q.id)!.rollups)
        throw new Error(`${q.id}: /load and /sql disagree on the rollups used`);
      return { ms, body: rowCount(body) };
    };
    const direct = (side: 'pre' | 'marts', id: Mode['id']) => async (q: DashboardQuery) => {
      const { ms, body } = await post<{ results: unknown[][] }>(`${baseline.url}/sql`, { statements: planned.get(q.id)![side] });
      const count = body.results.reduce((n, r) => n + r.length, 0);
      note(q, id, count);
      return { ms, body: count };
    };
    const viaSql = async (q: DashboardQuery) => {
      const question = sqlQuestions.get(q.id)!;
      if (question.timezone !== sqlTimezone) {
        await sqlClient.query(`SET TIME ZONE '${question.timezone}'`); // once per zone change, as a BI session would
        sqlTimezone = question.timezone;
      }
      const started = performance.now();
      let count = 0;
      for (const statement of question.statements) count += (await sqlClient.query(statement)).rows.length;
      const ms = performance.now() - started;
      note(q, 'sql', count);
      return { ms, body: count };
    };
    const modes: Mode[] = [
      { id: 'pre', run: loadVia(api, 'pre') },
      { id: 'marts', run: loadVia(apiMarts, 'marts') },
      { id: 'pre-reopen', run: loadVia(apiReopen, 'pre-reopen') },
      { id: 'duckdb-pre', run: direct('pre', 'duckdb-pre') },
      { id: 'duckdb-marts', run: direct('marts', 'duckdb-marts') },
      { id: 'sql', run: viaSql },
    ];

    log(
      `${queries.length} dashboard queries (as of ${asOf}, ${TIMEZONE}), ${repeat} timed runs each in ${modes.length} modes after ${WARM_UP_ROUNDS} warm-up rounds ...`,
    );
    const samples = new Map<string, number[]>(); // `${mode}|${query}` -> ms
    for (let pass = 0; pass < WARM_UP_ROUNDS + repeat; pass++) {
      for (const q of queries) {
        for (const mode of modes) {
          if (mode.id === 'sql' && !sqlQuestions.has(q.id)) continue;
          const { ms } = await mode.run(q);
          if (pass < WARM_UP_ROUNDS) continue;
          const key = `${mode.id}|${q.id}`;
          samples.set(key, [...(samples.get(key) ?? []), ms]);
        }
      }
    }

    const all = (mode: Mode['id']) => queries.flatMap((q) => samples.get(`${mode}|${q.id}`) ?? []);
    // The SQL door against REST over the questions both doors answered (each compareDateRange is one statement per range).
    const sqlIds = queries.filter((q) => sqlQuestions.has(q.id)).map((q) => q.id);
    const over = (mode: Mode['id'], p: number) =>
      round(
        percentile(
          sqlIds.flatMap((id) => samples.get(`${mode}|${id}`)!),
          p,
        ),
        2,
      );
    const sqlDoor = { p50: over('sql', 0.5), p95: over('sql', 0.95) };
    const restSame = { p50: over('pre', 0.5), p95: over('pre', 0.95) };
    const stat = (mode: Mode['id'], p: number) => round(percentile(all(mode), p), 2);
    const ratio = (a: number, b: number) => round(a / b, 2);
    const pre = { p50: stat('pre', 0.5), p95: stat('pre', 0.95) };
    const marts = { p50: stat('marts', 0.5), p95: stat('marts', 0.95) };
    const reopened = { p50: stat('pre-reopen', 0.5), p95: stat('pre-reopen', 0.95) };
    const directPre = { p50: stat('duckdb-pre', 0.5), p95: stat('duckdb-pre', 0.95) };
    const directMarts = { p50: stat('duckdb-marts', 0.5), p95: stat('duckdb-marts', 0.95) };
    const answeredFromRollups = queries.filter((q) => planned.get(q.id)!.rollups).map((q) => q.id);
    const mismatched = [...rows]
      .filter(([, byMode]) => new Set(byMode.values()).size > 1)
      .map(([id, byMode]) => `${id} (${[...byMode].map(([m, n]) => `${m} ${n}`).join(', ')})`);
    const atTarget = scale.name === '10m';

    return {
      stage: 'semantic',
      title: "Semantic queries: the dashboard's query set through /cubejs-api/v1/load (result cache bypassed)",
      goal: `pre-aggregated p95 under ${GOAL_P95_MS} ms at 10 million orders`,
      met: atTarget ? pre.p95 < GOAL_P95_MS : null,
      rows: [
        {
          label: 'pre-aggregated: p50 (baseline: DuckDB running the same SQL)',
          value: pre.p50,
          unit: 'ms',
          baseline: directPre.p50,
          ratio: ratio(pre.p50, directPre.p50),
        },
        {
          label: 'pre-aggregated: p95 (baseline: DuckDB running the same SQL)',
          value: pre.p95,
          unit: 'ms',
          baseline: directPre.p95,
          ratio: ratio(pre.p95, directPre.p95),
        },
        {
          label: 'no pre-aggregations: p50 (baseline: DuckDB running the same SQL)',
          value: marts.p50,
          unit: 'ms',
          baseline: directMarts.p50,
          ratio: ratio(marts.p50, directMarts.p50),
        },
        {
          label: 'no pre-aggregations: p95 (baseline: DuckDB running the same SQL)',
          value: marts.p95,
          unit: 'ms',
          baseline: directMarts.p95,
          ratio: ratio(marts.p95, directMarts.p95),
        },
        {
          label: 'reopening the file for every query: p50 (baseline: pre-aggregated, file kept open)',
          value: reopened.p50,
          unit: 'ms',
          baseline: pre.p50,
          ratio: ratio(reopened.p50, pre.p50),
        },
        {
          label: 'reopening the file for every query: p95 (baseline: pre-aggregated, file kept open)',
          value: reopened.p95,
          unit: 'ms',
          baseline: pre.p95,
          ratio: ratio(reopened.p95, pre.p95),
        },
        {
          label: 'SQL door: p50 (baseline: REST /load, the same questions, pre-aggregated)',
          value: sqlDoor.p50,
          unit: 'ms',
          baseline: restSame.p50,
          ratio: ratio(sqlDoor.p50, restSame.p50),
        },
        {
          label: 'SQL door: p95 (baseline: REST /load, the same questions, pre-aggregated)',
          value: sqlDoor.p95,
          unit: 'ms',
          baseline: restSame.p95,
          ratio: ratio(sqlDoor.p95, restSame.p95),
        },
        {
          label: 'p95: pre-aggregated vs no pre-aggregations',
          value: pre.p95,
          unit: 'ms',
          baseline: marts.p95,
          ratio: ratio(pre.p95, marts.p95),
        },
        ...queries.map((q) => {
          const a = round(percentile(samples.get(`pre|${q.id}`)!, 0.95), 2);
          const b = round(percentile(samples.get(`marts|${q.id}`)!, 0.95), 2);
          return {
            label: `${q.id}: p95 pre-aggregated (baseline: no pre-aggregations)${planned.get(q.id)!.rollups ? '' : ' [marts: no rollup matches]'}`,
            value: a,
            unit: 'ms',
            baseline: b,
            ratio: ratio(a, b),
          };
        }),
      ],
      notes: [
        `${queries.length} queries × ${repeat} runs per mode (${all('pre').length} samples each), sequential, as of ${asOf} in ${TIMEZONE}; ${asOfRows.body.data[0]!.n} orders in the marts`,
        `answered from rollups: ${answeredFromRollups.length} of ${queries.length}${
          answeredFromRollups.length < queries.length
            ? ` (from the marts: ${queries
                .filter((q) => !answeredFromRollups.includes(q.id))
                .map((q) => q.id)
                .join(', ')})`
            : ''
        }`,
        valueMismatches.length
          ? `SQL door and REST answered different values for: ${valueMismatches.join(', ')}`
          : `SQL door and REST answered every value alike (${sqlIds.length} questions, Postgres text against /load's data)`,
        `SQL door reads rollups for ${sqlIds.filter((id) => sqlRollups.get(id)).length} of ${sqlIds.length} questions${
          sqlIds.some((id) => sqlRollups.get(id) !== planned.get(id)!.rollups)
            ? `; differs from REST for ${sqlIds
                .filter((id) => sqlRollups.get(id) !== planned.get(id)!.rollups)
                .map(
                  (id) => `${id} (SQL ${sqlRollups.get(id) ? 'rollup' : 'marts'}, REST ${planned.get(id)!.rollups ? 'rollup' : 'marts'})`,
                )
                .join(', ')}`
            : ', the same questions as REST'
        }`,
        `SQL door: ${sqlIds.length} of ${queries.length} questions as SQL (benchmarks/sql-door-queries.ts; a compareDateRange is one SELECT per range)${
          sqlIds.length < queries.length
            ? `, not expressible: ${queries
                .filter((q) => !sqlQuestions.has(q.id))
                .map((q) => q.id)
                .join(', ')}`
            : ''
        }; one pg connection to the API process of the pre-aggregated mode, SET crm.renew_query = on (result cache bypassed as with renewQuery), latency from the first SELECT sent to the last row parsed; p95 per question SQL / REST: ${sqlIds
          .map(
            (id) =>
              `${id} ${round(percentile(samples.get(`sql|${id}`)!, 0.95), 1)} / ${round(percentile(samples.get(`pre|${id}`)!, 0.95), 1)}`,
          )
          .join('; ')}`,
        'latency is client-side over loopback HTTP (request to parsed JSON); the API and the DuckDB baseline are separate Node processes (Fastify), the baseline keeps one read-only connection open',
        'overhead of the layer = ratio column of the first four rows (JWT, access control, Cube compiling the query, rollup routing, a pooled DuckDB connection and prepared statement per query, Cube row shaping)',
        'the API keeps the warehouse open between queries (CRM_API_IDLE_CLOSE_MS, default 5 minutes); the reopening rows are a third API process told to let go after every query: what the first click after a longer pause costs',
        `p95 per query in ms (pre-aggregated / no pre-aggregations / DuckDB on the pre-aggregated SQL / DuckDB on the marts SQL): ${queries
          .map(
            (q) =>
              `${q.id} ${(['pre', 'marts', 'duckdb-pre', 'duckdb-marts'] as const).map((m) => round(percentile(samples.get(`${m}|${q.id}`)!, 0.95), 1)).join(' / ')}`,
          )
          .join('; ')}`,
        mismatched.length
          ? `row counts differ between modes: ${mismatched.join('; ')}`
          : 'every mode answered each query with the same number of rows',
        atTarget
          ? `pre-aggregated p95 ${pre.p95} ms ${pre.p95 < GOAL_P95_MS ? 'meets' : 'misses'} ${GOAL_P95_MS} ms`
          : `the goal is judged at the 10m scale; pre-aggregated p95 here: ${pre.p95} ms (goal ${GOAL_P95_MS} ms)`,
      ],
    };
  } finally {
    await sqlClientOf?.end().catch(() => undefined);
    await Promise.all([api.stop(), apiMarts.stop(), apiReopen.stop(), baseline.stop()]);
  }
}
