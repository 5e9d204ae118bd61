import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import type { ReadScope } from './read-scope.ts';
import { catalog, truthy, type WarehouseDb } from './warehouse-db.ts';
import type { PipelineStatusResponse } from './schemas.ts';

type Status = z.input<typeof PipelineStatusResponse>;

/**
 * Last runs and freshness from the ledger copy the pipeline writes into every published warehouse
 * (ops.pipeline_runs, ops.pipeline_steps, ops.dbt_results), with the same rules as `crm status`:
 * a source's freshness is its last successful extract step in a published run, a mart's its last
 * successful dbt build in a published run. (The run being published is copied while still
 * `running`; it shows as such.)
 */
export async function pipelineStatus(db: Kysely<WarehouseDb>, limit: number, scope: ReadScope, now = Date.now()): Promise<Status> {
  const ledger = ['ops.pipeline_runs', 'ops.pipeline_steps', 'ops.dbt_results'];
  // No cube is built on the ledger, so no policy scopes it: a brand- or region-scoped token is refused (403).
  for (const table of ledger) scope.of(table);
  const tables = await catalog(db);
  const missing = ledger.filter((t) => !tables.has(t));
  if (missing.length) {
    return {
      available: false,
      reason: `the published warehouse has no ${missing.join(', ')} (published by a run before the ledger existed?)`,
      last_runs: [],
      sources: [],
      marts: [],
    };
  }
  // The ledger is copied into the build just before it is renamed into place, so the run that
  // published this file is in it still marked running (the newest such run): count it as published.
  const publisher =
    (
      await db
        .selectFrom('ops.pipeline_runs')
        .select('run_id')
        .where('status', '=', 'running')
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst()
    )?.run_id ?? null;
  const published = (alias: string) =>
    sql<boolean>`(${sql.ref(`${alias}.published`)} OR ${sql.ref(`${alias}.run_id`)} = ${publisher ?? ''})`;
  const iso = (column: string) => sql<string>`strftime(${sql.ref(column)}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
  const runs = await db
    .selectFrom('ops.pipeline_runs')
    .select(['run_id', 'command', 'status', 'seconds', 'error'])
    .select(published('ops.pipeline_runs').as('published'))
    .select([iso('started_at').as('started_at'), iso('finished_at').as('finished_at')])
    .orderBy('ops.pipeline_runs.started_at', 'desc')
    .limit(limit)
    .execute();
  const sources = await db
    .selectFrom('ops.pipeline_steps as s')
    .innerJoin('ops.pipeline_runs as r', 'r.run_id', 's.run_id')
    .select(sql<string>`replace(s.step_id, 'extract:', '')`.as('name'))
    .select(sql<string>`strftime(max(s.finished_at), '%Y-%m-%dT%H:%M:%S.%gZ')`.as('last_at'))
    .where('s.kind', '=', 'extract')
    .where('s.status', '=', 'succeeded')
    .where(published('r'))
    .groupBy(sql`1`)
    .orderBy(sql`1`)
    .execute();
  const marts = await db
    .selectFrom('ops.dbt_results as d')
    .innerJoin('ops.pipeline_steps as s', (join) => join.onRef('s.run_id', '=', 'd.run_id').onRef('s.step_id', '=', 'd.step_id'))
    .innerJoin('ops.pipeline_runs as r', 'r.run_id', 'd.run_id')
    .select(sql<string>`split_part(d.unique_id, '.', 3)`.as('name'))
    .select(sql<string>`strftime(max(coalesce(r.finished_at, s.finished_at)), '%Y-%m-%dT%H:%M:%S.%gZ')`.as('last_at'))
    .where('d.resource_type', '=', 'model')
    .where('d.status', '=', 'success')
    .where(published('r'))
    .groupBy(sql`1`)
    .orderBy(sql`1`)
    .execute();
  const age = (at: string | null) => (at ? Math.round(((now - Date.parse(at)) / 3_600_000) * 100) / 100 : null);
  return {
    available: true,
    published_by: publisher,
    last_runs: runs.map((r) => ({ ...r, seconds: r.seconds ?? null, published: truthy(r.published), finished_at: r.finished_at ?? null })),
    sources: sources.map((s) => ({ name: s.name, last_at: s.last_at, age_hours: age(s.last_at) })),
    marts: marts.map((m) => ({ name: m.name, last_at: m.last_at, age_hours: age(m.last_at) })),
  };
}
