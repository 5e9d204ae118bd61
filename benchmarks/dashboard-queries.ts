import {
  dashboardQueries as pageQueries,
  defaultSelection,
  membersOfMeta,
  type ModelMembers,
  type Selection,
} from '../dashboard/src/queries.ts';
import { loadSemanticModel } from '../semantic/semantic-model.ts';
import { cubeModelDir } from '../shared/paths.ts';

/**
 * The executive dashboard's query set for the benchmarks: exactly the queries the page sends
 * (dashboard/src/queries.ts, which the panels build theirs with), for the page's default selection
 * (the 90 days ending on `asOf`, all brands) and the members /meta offers, here taken from the
 * compiled cube/model (the /meta response is the model's visible members). A change to a panel's
 * query changes what the semantic-query benchmark times and what tests/e2e/pre-aggregations.test.ts
 * checks against the rollups.
 */

export interface DashboardQuery {
  /** Stable id of the panel's query, e.g. 'kpi_period_compare', 'cohorts' (dashboard/src/queries.ts). */
  id: string;
  /** The Cube query sent to POST /cubejs-api/v1/load. */
  query: Record<string, unknown>;
}

export interface DashboardPeriod {
  /** Last day the dashboard covers (YYYY-MM-DD), usually the latest day with orders. */
  asOf: string;
  /** Time zone of every query the page sends in its reporting zone (the opinion marts' UTC days stay UTC). */
  timezone?: string;
  /** The brand filter (default: all brands). */
  brand?: string | null;
}

/** The visible members of the compiled model, as the page reads them from /meta (compiled once, on import). */
export const modelMembers: ModelMembers = membersOfMeta((await loadSemanticModel(cubeModelDir)).meta);

/** The page's selection for a period: its default range ending on asOf. */
export function dashboardSelection(period: DashboardPeriod): Selection {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(period.asOf)) throw new Error(`dashboard period: asOf must be YYYY-MM-DD, got '${period.asOf}'`);
  return defaultSelection(period.asOf, period.brand ?? null);
}

/** The queries the dashboard sends for the period's selection (the mentions table on asOf). */
export function dashboardQueries(period: DashboardPeriod, members: ModelMembers = modelMembers): DashboardQuery[] {
  return pageQueries(dashboardSelection(period), members).map(({ id, query }) => ({
    id,
    // The page's own zone unless the query names another (opinion by UTC day).
    query: { ...query, timezone: period.timezone && query.timezone !== 'UTC' ? period.timezone : query.timezone },
  }));
}
