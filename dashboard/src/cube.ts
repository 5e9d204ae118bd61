import cube, { type CubeApi, type Filter, type Query, type TimeDimensionGranularity } from '@cubejs-client/core';

/**
 * The page's only data path: Cube's own client against this server's Cube REST API
 * (/cubejs-api/v1, same origin). Queries name members of the semantic model; no figure is computed
 * from rows here beyond what a chart needs to draw (bucketing a distribution, pivoting a grid).
 */
export const TIMEZONE = 'Asia/Shanghai';

export interface Selection {
  from: string; // YYYY-MM-DD, inclusive
  to: string;
  brand: string | null;
}

let api: CubeApi | null = null;
let members = new Set<string>();
let measures = new Set<string>();

export function connect(token: string): CubeApi {
  api = cube(token, { apiUrl: new URL('../cubejs-api/v1', window.location.href).toString() });
  return api;
}

export function client(): CubeApi {
  if (!api) throw new Error('not connected');
  return api;
}

/** Reads /meta once: which cubes and members the model offers (panels pick what exists). */
export async function loadMeta(): Promise<Set<string>> {
  const meta = await client().meta();
  const names = new Set<string>();
  measures = new Set(meta.cubes.flatMap((c) => c.measures.map((m) => m.name)));
  for (const c of meta.cubes) {
    names.add(c.name);
    for (const m of [...c.measures, ...c.dimensions, ...(c.segments ?? [])]) names.add(m.name);
  }
  members = names;
  return names;
}

export function isMeasure(name: string): boolean {
  return measures.has(name);
}

export function has(...names: (string | null | undefined)[]): boolean {
  return names.every((name) => !name || members.has(name));
}

/** The first candidate whose members all exist in the model. */
export function pick<T>(candidates: readonly T[], namesOf: (candidate: T) => (string | null | undefined)[]): T | undefined {
  return candidates.find((candidate) => has(...namesOf(candidate)));
}

const DAY = 86_400_000;
const dayMs = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function daysIn(selection: Selection): number {
  return Math.round((dayMs(selection.to) - dayMs(selection.from)) / DAY) + 1;
}

/** The period of the same length that ends the day before `from` (as the API's scorecard does). */
export function previousRange(selection: Selection): [string, string] {
  const days = daysIn(selection);
  return [isoDay(dayMs(selection.from) - days * DAY), isoDay(dayMs(selection.from) - DAY)];
}

/** The whole months a range touches, and the same number of months before them (monthly marts). */
export function monthRanges(selection: Selection): { current: [string, string]; previous: [string, string]; months: number } {
  const [fy, fm] = selection.from.split('-').map(Number) as [number, number];
  const [ty, tm] = selection.to.split('-').map(Number) as [number, number];
  const months = (ty - fy) * 12 + (tm - fm) + 1;
  const monthStart = (y: number, m: number) => isoDay(Date.UTC(y, m - 1, 1));
  const monthEnd = (y: number, m: number) => isoDay(Date.UTC(y, m, 0));
  return {
    current: [monthStart(fy, fm), monthEnd(ty, tm)],
    previous: [monthStart(fy, fm - months), monthEnd(fy, fm - 1)],
    months,
  };
}

export function addDays(iso: string, days: number): string {
  return isoDay(dayMs(iso) + days * DAY);
}

/** Granularity of trend lines: days for six weeks or less, weeks up to ~13 months, then months. */
export function trendGranularity(selection: Selection): TimeDimensionGranularity {
  const days = daysIn(selection);
  return days <= 45 ? 'day' : days <= 400 ? 'week' : 'month';
}

export function brandFilters(brandMember: string | null | undefined, selection: Selection): Filter[] {
  return brandMember && selection.brand ? [{ member: brandMember, operator: 'equals', values: [selection.brand] }] : [];
}

/** Queries run in the shop's reporting zone unless they name one (daily opinion marts are UTC days). */
export function withTimezone(query: Query, timezone = TIMEZONE): Query {
  return { ...query, timezone: query.timezone ?? timezone };
}

export async function load(query: Query) {
  return client().load(withTimezone(query));
}

export const num = (value: unknown): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};
