/**
 * The dashboard's Cube queries written as the SQL a BI tool would send the SQL door
 * (docs/sql-api.md), so the semantic benchmark can time the same questions through both doors.
 * A compareDateRange query becomes one statement per range (what a SQL client asks); segments and
 * other shapes the door does not read are reported as untranslatable (undefined).
 */

export interface SqlQuestion {
  /** SET TIME ZONE … then the SELECTs, run in order on one connection. */
  timezone: string;
  statements: string[];
  /** The /load data key of each output column, in order (member, or member.granularity). */
  keys: string[];
}

type Filter = { member?: string; operator?: string; values?: string[]; or?: Filter[]; and?: Filter[] };
interface TimeDimension {
  dimension: string;
  granularity?: string;
  dateRange?: string | string[];
  compareDateRange?: string[][];
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
const column = (member: string) => `"${member.split('.')[1]!}"`;
const alias = (member: string, granularity?: string) => `"${member.split('.')[1]!}${granularity ? `_${granularity}` : ''}"`;

/** The day after a YYYY-MM-DD date. */
function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function condition(filter: Filter, measures: Set<string>): { sql: string; having: boolean } | undefined {
  if (filter.or || filter.and) {
    const parts = (filter.or ?? filter.and)!.map((f) => condition(f, measures));
    if (parts.some((p) => !p) || new Set(parts.map((p) => p!.having)).size > 1) return undefined;
    return { sql: `(${parts.map((p) => p!.sql).join(filter.or ? ' OR ' : ' AND ')})`, having: parts[0]!.having };
  }
  const member = filter.member!;
  const target = measures.has(member) ? `MEASURE(${column(member)})` : column(member);
  const values = filter.values ?? [];
  const sql = (() => {
    switch (filter.operator) {
      case 'equals':
        return values.length === 1 ? `${target} = ${quote(values[0]!)}` : `${target} IN (${values.map(quote).join(', ')})`;
      case 'notEquals':
        return values.length === 1 ? `${target} <> ${quote(values[0]!)}` : `${target} NOT IN (${values.map(quote).join(', ')})`;
      case 'in':
        return `${target} IN (${values.map(quote).join(', ')})`;
      case 'notIn':
        return `${target} NOT IN (${values.map(quote).join(', ')})`;
      case 'gt':
        return `${target} > ${quote(values[0]!)}`;
      case 'gte':
        return `${target} >= ${quote(values[0]!)}`;
      case 'lt':
        return `${target} < ${quote(values[0]!)}`;
      case 'lte':
        return `${target} <= ${quote(values[0]!)}`;
      case 'set':
        return `${target} IS NOT NULL`;
      case 'notSet':
        return `${target} IS NULL`;
      case 'contains':
        return `${target} LIKE ${quote(`%${values[0]}%`)}`;
      case 'startsWith':
        return `${target} LIKE ${quote(`${values[0]}%`)}`;
      case 'endsWith':
        return `${target} LIKE ${quote(`%${values[0]}`)}`;
      default:
        return undefined;
    }
  })();
  return sql ? { sql, having: measures.has(member) } : undefined;
}

/** The SQL for one Cube query of the dashboard, or undefined when the door cannot express it. */
export function sqlOfCubeQuery(query: Record<string, any>, allMeasures: ReadonlySet<string>): SqlQuestion | undefined {
  if (query.segments?.length || query.ungrouped || query.total || query.offset) return undefined;
  const measures: string[] = query.measures ?? [];
  const dimensions: string[] = query.dimensions ?? [];
  const timeDimensions: TimeDimension[] = query.timeDimensions ?? [];
  const views = new Set([...measures, ...dimensions, ...timeDimensions.map((t) => t.dimension)].map((m) => m.split('.')[0]));
  if (views.size !== 1) return undefined;
  const view = [...views][0]!;
  const select = [
    ...dimensions.map((d) => `${column(d)} AS ${alias(d)}`),
    ...timeDimensions
      .filter((t) => t.granularity)
      .map((t) => `DATE_TRUNC('${t.granularity}', ${column(t.dimension)}) AS ${alias(t.dimension, t.granularity)}`),
    ...measures.map((m) => `MEASURE(${column(m)}) AS ${alias(m)}`),
  ];
  const keys = [...dimensions, ...timeDimensions.filter((t) => t.granularity).map((t) => `${t.dimension}.${t.granularity}`), ...measures];
  const grouped = dimensions.length + timeDimensions.filter((t) => t.granularity).length;
  const where: string[] = [];
  const having: string[] = [];
  for (const filter of (query.filters ?? []) as Filter[]) {
    const c = condition(filter, allMeasures);
    if (!c) return undefined;
    (c.having ? having : where).push(c.sql);
  }
  const orderEntries: [string, string][] = Array.isArray(query.order) ? query.order : Object.entries(query.order ?? {});
  const order: string[] = [];
  for (const [member, direction] of orderEntries) {
    const time = timeDimensions.find((t) => t.dimension === member && t.granularity);
    if (!time && !measures.includes(member) && !dimensions.includes(member)) return undefined;
    order.push(`${time ? alias(member, time.granularity) : alias(member)} ${String(direction).toUpperCase()}`);
  }
  const rangeCondition = (t: TimeDimension, range: string[]) => {
    const [from, to] = range.length === 1 ? [range[0]!, range[0]!] : range;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from!) || !/^\d{4}-\d{2}-\d{2}$/.test(to!)) return undefined;
    return `${column(t.dimension)} >= '${from}' AND ${column(t.dimension)} < '${nextDay(to!)}'`;
  };
  const statementFor = (extra: string[]) =>
    [
      `SELECT ${select.join(', ')} FROM ${view}`,
      where.length || extra.length ? `WHERE ${[...where, ...extra].join(' AND ')}` : '',
      grouped && measures.length ? `GROUP BY ${Array.from({ length: grouped }, (_, i) => i + 1).join(', ')}` : '',
      having.length ? `HAVING ${having.join(' AND ')}` : '',
      order.length ? `ORDER BY ${order.join(', ')}` : '',
      // REST's default limit is 10,000; the SQL door's without LIMIT is the maximum.
      `LIMIT ${query.limit ?? 10_000}`,
    ]
      .filter(Boolean)
      .join(' ');

  const ranged: string[] = [];
  let compare: { t: TimeDimension; ranges: string[][] } | undefined;
  for (const t of timeDimensions) {
    if (t.compareDateRange) {
      if (compare) return undefined;
      compare = { t, ranges: t.compareDateRange };
    } else if (t.dateRange !== undefined) {
      if (typeof t.dateRange === 'string') return undefined;
      const c = rangeCondition(t, t.dateRange);
      if (!c) return undefined;
      ranged.push(c);
    }
  }
  const timezone = String(query.timezone ?? 'UTC');
  if (!compare) return { timezone, statements: [statementFor(ranged)], keys };
  const statements: string[] = [];
  for (const range of compare.ranges) {
    const c = rangeCondition(compare.t, range);
    if (!c) return undefined;
    statements.push(statementFor([...ranged, c]));
  }
  return { timezone, statements, keys };
}
