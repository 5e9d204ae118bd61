import { describe, expect, it } from 'vitest';
import { splitStatements, bindParameters, parameterCount } from '../../api/sql/statements.ts';
import { routeOf, rewriteCatalogSql } from '../../api/sql/catalog.ts';
import { MessageFramer, ProtocolError } from '../../api/sql/protocol.ts';
import { PG_TYPES, type SqlTable } from '../../api/sql/tables.ts';
import { parseSelect, translateSelect } from '../../api/sql/translate.ts';

/**
 * The SQL door's translation of SQL into Cube queries (api/sql/translate.ts), its statement lexer
 * and its routing, without a server: each case is the Cube query a REST client would send.
 * tests/unit/sql-door.test.ts runs them through real clients and compares with REST.
 */

const TABLE: SqlTable = {
  name: 'sales_overview',
  columns: [
    { name: 'order_status', member: 'sales_overview.order_status', kind: 'dimension', type: 'string', pg: PG_TYPES.text },
    { name: 'item_count', member: 'sales_overview.item_count', kind: 'dimension', type: 'number', pg: PG_TYPES.numeric },
    { name: 'is_valid_sale', member: 'sales_overview.is_valid_sale', kind: 'dimension', type: 'boolean', pg: PG_TYPES.bool },
    { name: 'ordered_at', member: 'sales_overview.ordered_at', kind: 'dimension', type: 'time', pg: PG_TYPES.timestamp },
    { name: 'count', member: 'sales_overview.count', kind: 'measure', type: 'number', aggType: 'count', pg: PG_TYPES.int8 },
    { name: 'revenue', member: 'sales_overview.revenue', kind: 'measure', type: 'number', aggType: 'sum', pg: PG_TYPES.numeric },
    {
      name: 'avg_order_value',
      member: 'sales_overview.avg_order_value',
      kind: 'measure',
      type: 'number',
      aggType: 'number',
      pg: PG_TYPES.numeric,
    },
    { name: 'valid_sales', member: 'sales_overview.valid_sales', kind: 'segment', type: 'boolean', pg: PG_TYPES.bool },
  ],
};

const translate = (sql: string, timezone = 'UTC') => translateSelect(parseSelect(sql).ast, [TABLE], timezone);
const codeOf = (sql: string) => {
  try {
    translate(sql);
    return 'translated';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

describe('translateSelect', () => {
  it('dimensions, MEASURE(), SUM() of a sum measure, COUNT(*), GROUP BY ordinals, ORDER BY alias, LIMIT/OFFSET', () => {
    const { query, columns } = translate(
      'SELECT order_status, MEASURE(revenue) AS rev, SUM(revenue) s, COUNT(*) FROM sales_overview GROUP BY 1 ORDER BY rev DESC LIMIT 5 OFFSET 2',
    );
    expect(query).toEqual({
      measures: ['sales_overview.revenue', 'sales_overview.count'],
      dimensions: ['sales_overview.order_status'],
      order: [['sales_overview.revenue', 'desc']],
      limit: 5,
      offset: 2,
      timezone: 'UTC',
    });
    expect(columns.map((c) => [c.name, c.key, c.pg.oid])).toEqual([
      ['order_status', 'sales_overview.order_status', 25],
      ['rev', 'sales_overview.revenue', 1700],
      ['s', 'sales_overview.revenue', 1700],
      ['count', 'sales_overview.count', 20],
    ]);
  });

  it('folds unquoted identifiers to lower case and keeps quoted ones, as Postgres does', () => {
    expect(translate('SELECT ORDER_STATUS, Measure(Revenue) FROM Sales_Overview GROUP BY 1').query).toMatchObject({
      measures: ['sales_overview.revenue'],
      dimensions: ['sales_overview.order_status'],
    });
    expect(codeOf('SELECT "ORDER_STATUS" FROM sales_overview')).toBe('42703');
    const { query } = translate(
      'SELECT order_status, MEASURE(revenue) AS Rev FROM sales_overview GROUP BY 1 HAVING Rev > 1 ORDER BY REV DESC',
    );
    expect(query.filters).toEqual([{ member: 'sales_overview.revenue', operator: 'gt', values: ['1'] }]);
    expect(query.order).toEqual([['sales_overview.revenue', 'desc']]);
  });

  it("reads Metabase's fully qualified, quoted form", () => {
    const { query } = translate(
      'SELECT "public"."sales_overview"."order_status" AS "order_status", COUNT(*) AS "count" FROM "public"."sales_overview" ' +
        'GROUP BY "public"."sales_overview"."order_status" ORDER BY "public"."sales_overview"."order_status" ASC LIMIT 2000',
    );
    expect(query).toMatchObject({ measures: ['sales_overview.count'], dimensions: ['sales_overview.order_status'], limit: 2000 });
  });

  it('DATE_TRUNC is a granularity; a lower and an upper bound on a time column become its dateRange', () => {
    const { query, columns } = translate(
      `SELECT DATE_TRUNC('month', ordered_at) AS m, MEASURE(count) FROM sales_overview
       WHERE ordered_at >= '2025-01-01' AND ordered_at < '2025-03-01' AND order_status <> 'cancelled' GROUP BY 1 ORDER BY 1`,
      'Asia/Shanghai',
    );
    expect(query.timeDimensions).toEqual([
      { dimension: 'sales_overview.ordered_at', granularity: 'month', dateRange: ['2025-01-01T00:00:00.000', '2025-02-28T23:59:59.999'] },
    ]);
    expect(query.filters).toEqual([{ member: 'sales_overview.order_status', operator: 'notEquals', values: ['cancelled'] }]);
    // Ordered by the member: Cube does not read 'ordered_at.month' as an order id (it ordered by the wrong column).
    expect(query.order).toEqual([['sales_overview.ordered_at', 'asc']]);
    expect(query.timezone).toBe('Asia/Shanghai');
    expect(columns[0]).toMatchObject({ key: 'sales_overview.ordered_at.month', pg: PG_TYPES.timestamp });
    // One bound only stays a filter.
    expect(translate(`SELECT MEASURE(count) FROM sales_overview WHERE ordered_at > '2025-01-01 08:00'`).query.filters).toEqual([
      { member: 'sales_overview.ordered_at', operator: 'gt', values: ['2025-01-01T08:00:00'] },
    ]);
  });

  it('WHERE operators: IN, NOT IN, BETWEEN, LIKE patterns, IS [NOT] NULL, OR, boolean columns; HAVING on measures', () => {
    const { query } = translate(
      `SELECT order_status, MEASURE(count) FROM sales_overview
       WHERE order_status IN ('a', 'b') AND order_status NOT IN ('c') AND item_count BETWEEN 1 AND 3
         AND (order_status LIKE 'comp%' OR order_status ILIKE '%aid' OR order_status LIKE '%hip%' OR order_status NOT LIKE 'x')
         AND order_status IS NOT NULL AND item_count IS NULL AND is_valid_sale AND is_valid_sale IS NOT FALSE
       GROUP BY 1 HAVING MEASURE(revenue) > 10 AND COUNT(*) <= 4`,
    );
    expect(query.filters).toEqual([
      { member: 'sales_overview.order_status', operator: 'in', values: ['a', 'b'] },
      { member: 'sales_overview.order_status', operator: 'notIn', values: ['c'] },
      { member: 'sales_overview.item_count', operator: 'gte', values: ['1'] },
      { member: 'sales_overview.item_count', operator: 'lte', values: ['3'] },
      {
        or: [
          { member: 'sales_overview.order_status', operator: 'startsWith', values: ['comp'] },
          { member: 'sales_overview.order_status', operator: 'endsWith', values: ['aid'] },
          { member: 'sales_overview.order_status', operator: 'contains', values: ['hip'] },
          { member: 'sales_overview.order_status', operator: 'notEquals', values: ['x'] },
        ],
      },
      { member: 'sales_overview.order_status', operator: 'set' },
      { member: 'sales_overview.item_count', operator: 'notSet' },
      { member: 'sales_overview.is_valid_sale', operator: 'equals', values: ['true'] },
      { member: 'sales_overview.is_valid_sale', operator: 'notEquals', values: ['false'] },
      { member: 'sales_overview.revenue', operator: 'gt', values: ['10'] },
      { member: 'sales_overview.count', operator: 'lte', values: ['4'] },
    ]);
  });

  it('a segment is a boolean column that filters: WHERE seg, seg = TRUE, seg IS TRUE at the top level', () => {
    expect(translate("SELECT MEASURE(count) FROM sales_overview WHERE valid_sales AND order_status = 'paid'").query).toMatchObject({
      segments: ['sales_overview.valid_sales'],
      filters: [{ member: 'sales_overview.order_status', operator: 'equals', values: ['paid'] }],
    });
    expect(translate('SELECT MEASURE(count) FROM sales_overview WHERE valid_sales IS TRUE').query.segments).toEqual([
      'sales_overview.valid_sales',
    ]);
    expect(codeOf('SELECT valid_sales FROM sales_overview')).toBe('0A000');
    expect(codeOf("SELECT MEASURE(count) FROM sales_overview WHERE valid_sales OR order_status = 'paid'")).toBe('0A000');
  });

  it('a SELECT of dimensions alone is grouped, and without LIMIT asks for the layer maximum', () => {
    expect(translate('SELECT DISTINCT order_status FROM sales_overview').query).toEqual({
      dimensions: ['sales_overview.order_status'],
      limit: 50_000,
      timezone: 'UTC',
    });
  });

  it("Superset's time range bounds, TO_TIMESTAMP(text, 'YYYY-MM-DD HH24:MI:SS.US') and TO_DATE, are timestamp literals", () => {
    // What Superset 5's Postgres engine spec writes for a chart's time range (scripts/try-superset.sh).
    const { query } = translate(
      "SELECT DATE_TRUNC('month', ordered_at) AS ordered_at, MEASURE(revenue) AS revenue FROM public.sales_overview " +
        "WHERE ordered_at >= TO_TIMESTAMP('2025-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US') " +
        "AND ordered_at < TO_TIMESTAMP('2026-01-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US') GROUP BY DATE_TRUNC('month', ordered_at) LIMIT 1000",
    );
    expect(query.timeDimensions).toEqual([
      { dimension: 'sales_overview.ordered_at', granularity: 'month', dateRange: ['2025-01-01T00:00:00.000', '2025-12-31T23:59:59.999'] },
    ]);
    // TO_DATE('d', 'YYYY-MM-DD') is the literal 'd'.
    expect(translate("SELECT MEASURE(count) FROM sales_overview WHERE ordered_at >= TO_DATE('2025-03-01', 'YYYY-MM-DD')").query).toEqual(
      translate("SELECT MEASURE(count) FROM sales_overview WHERE ordered_at >= '2025-03-01'").query,
    );
    expect(
      translate("SELECT MEASURE(count) FROM sales_overview WHERE ordered_at >= TO_DATE('2025-03-01', 'YYYY-MM-DD')").query.filters,
    ).toEqual([{ member: 'sales_overview.ordered_at', operator: 'gte', values: ['2025-03-01'] }]);
    // Another format is not read as a literal: refused, never guessed.
    expect(codeOf("SELECT MEASURE(count) FROM sales_overview WHERE ordered_at >= TO_TIMESTAMP('01/03/2025', 'DD/MM/YYYY')")).toBe('0A000');
    expect(codeOf("SELECT MEASURE(count) FROM sales_overview WHERE ordered_at >= TO_TIMESTAMP('yesterday', 'YYYY-MM-DD HH24:MI:SS')")).toBe(
      '22007',
    );
  });

  it('what does not translate is an error naming it, with a SQLSTATE', () => {
    expect(codeOf('SELECT * FROM sales_overview')).toBe('0A000');
    expect(codeOf('SELECT order_status FROM orders')).toBe('42P01');
    expect(codeOf('SELECT nope FROM sales_overview')).toBe('42703');
    expect(codeOf('SELECT order_status, MEASURE(count) FROM sales_overview')).toBe('42803');
    expect(codeOf('SELECT SUM(avg_order_value) FROM sales_overview')).toBe('42883');
    expect(codeOf('SELECT COUNT(DISTINCT order_status) FROM sales_overview')).toBe('0A000');
    expect(codeOf('SELECT MEASURE(count) FROM sales_overview WHERE revenue > 1')).toBe('42803');
    expect(codeOf("SELECT MEASURE(count) FROM sales_overview WHERE order_status LIKE 'a_b'")).toBe('0A000');
    expect(codeOf('SELECT MEASURE(count) FROM sales_overview WHERE order_status = NULL')).toBe('0A000');
    expect(codeOf("SELECT MEASURE(count) FROM sales_overview WHERE ordered_at > 'yesterday'")).toBe('22007');
    expect(codeOf('SELECT MEASURE(count) FROM sales_overview LIMIT 50001')).toBe('54000');
    expect(codeOf('SELECT order_status FROM sales_overview UNION SELECT order_status FROM sales_overview')).toBe('0A000');
    expect(codeOf('SELECT order_status FROM sales_overview s JOIN sales_overview t ON true')).toBe('0A000');
    expect(codeOf('SELECT order_status FROM (SELECT order_status FROM sales_overview) x')).toBe('0A000');
    expect(codeOf('SELECT upper(order_status) FROM sales_overview')).toBe('0A000');
    expect(codeOf("SELECT DATE_TRUNC('fortnight', ordered_at) FROM sales_overview")).toBe('22023');
    expect(codeOf('SELECT MEASURE(count) FROM sales_overview ORDER BY order_status')).toBe('0A000');
    expect(codeOf('SELECT MEASURE(count) FROM other.sales_overview')).toBe('42P01');
    expect(codeOf('SELEKT 1')).toBe('42601');
  });
});

describe('statements and routing', () => {
  it('splits on semicolons outside strings, identifiers and comments; binds $n outside strings', () => {
    expect(splitStatements('SELECT \';\' AS "a;b" -- x; y\n; ; /* ; */ SELECT 2;')).toEqual(['SELECT \';\' AS "a;b"', 'SELECT 2']);
    expect(parameterCount("SELECT $1, '$2', $3")).toBe(3);
    expect(bindParameters("SELECT $1, '$1', $2, $3", ["it's", '5', null], [25, 23, 25])).toBe("SELECT 'it''s', '$1', 5, NULL");
    // A numeric parameter that is not a number is quoted, never pasted as SQL.
    expect(bindParameters('SELECT $1', ['1; DROP TABLE x'], [23])).toBe("SELECT '1; DROP TABLE x'");
  });

  it('routes catalog reads to the catalog, view reads to the semantic layer, and refuses a mix', () => {
    expect(routeOf('SELECT version()', parseSelect('SELECT version()').tables)).toBe('catalog');
    const catalogSql = 'SELECT relname FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace';
    expect(routeOf(catalogSql, parseSelect(catalogSql).tables)).toBe('catalog');
    expect(routeOf('SELECT a FROM sales_overview', parseSelect('SELECT a FROM sales_overview').tables)).toBe('views');
    const mixed = 'SELECT a FROM sales_overview WHERE a IN (SELECT relname FROM pg_class)';
    expect(() => routeOf(mixed, parseSelect(mixed).tables)).toThrow(/both the catalog and a view/);
    expect(
      rewriteCatalogSql(
        "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default",
      ),
    ).toBe("SELECT c.oid FROM pg_class c WHERE regexp_matches(c.relname, '^(x)$')");
    // Postgres' ~ matches anywhere (DuckDB's would need the whole string); !~ is its negation.
    expect(rewriteCatalogSql("WHERE n.nspname !~ '^pg_' AND 'pg_class'::regclass = CAST('x' AS REGCLASS)")).toBe(
      "WHERE NOT regexp_matches(n.nspname, '^pg_') AND 1259 = (SELECT first(oid) FROM crm_catalog.pg_class WHERE relname = 'x')",
    );
  });

  it('x = ANY(array column) is list_contains (DuckDB cannot join on the subquery it reads ANY as)', () => {
    // SQLAlchemy 1.4's get_indexes (Superset 5 adding a dataset) joins pg_attribute ON a.attnum = ANY(ix.indkey).
    expect(rewriteCatalogSql('left outer join pg_attribute a on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)')).toBe(
      'left outer join pg_attribute a on t.oid = a.attrelid and list_contains(ix.indkey, a.attnum)',
    );
    expect(rewriteCatalogSql('WHERE x = ANY (SELECT 1)')).toBe('WHERE x = ANY (SELECT 1)');
  });

  it('frames messages and refuses lengths out of bounds', () => {
    const framer = new MessageFramer();
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8, 0);
    startup.writeInt32BE(196608, 4);
    expect(framer.push(startup)).toHaveLength(1);
    expect(framer.started).toBe(true);
    const query = Buffer.from([0x51, 0, 0, 0, 8, 0x53, 0x45, 0x4c, 0]);
    expect(framer.push(query.subarray(0, 3))).toHaveLength(0);
    expect(framer.push(query.subarray(3))).toHaveLength(1);
    expect(() => framer.push(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]))).toThrow(ProtocolError);
  });
});
