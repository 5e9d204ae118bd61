import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../shared/errors.ts';
import { parseRelativeDateRange, resolveDateRange } from '../../semantic/date-range.ts';
import { DEFAULT_QUERY_LIMIT, normalizeQuery, parseQueryParam } from '../../semantic/normalize-query.ts';

/** 2025-03-15 10:30 UTC = 2025-03-15 18:30 in Shanghai; a Saturday. */
const NOW = new Date('2025-03-15T10:30:00.000Z');
const SHANGHAI = 'Asia/Shanghai';

function rejects(query: unknown, message: RegExp) {
  expect(() => normalizeQuery(query)).toThrow(BadRequestError);
  expect(() => normalizeQuery(query)).toThrow(message);
}

describe('normalizeQuery (Cube REST query rules)', () => {
  it("applies Cube's defaults and echoes the query in Cube's normalised shape", () => {
    expect(normalizeQuery({ measures: ['sales_overview.count'] })).toEqual({
      measures: ['sales_overview.count'],
      dimensions: [],
      segments: [],
      timeDimensions: [],
      filters: [],
      limit: DEFAULT_QUERY_LIMIT,
      rowLimit: DEFAULT_QUERY_LIMIT,
      timezone: 'UTC',
      queryType: 'regularQuery',
    });
    expect(normalizeQuery({ measures: ['sales_overview.count'] }, { defaultTimezone: SHANGHAI }).timezone).toBe(SHANGHAI);
  });

  it('normalises order, filters and "cube.time.granularity" dimensions the way Cube does', () => {
    const query = normalizeQuery({
      measures: ['sales_overview.revenue'],
      dimensions: ['sales_overview.order_status', 'sales_overview.ordered_at.month'],
      filters: [
        { dimension: 'sales_overview.item_count', operator: 'gt', values: [2] },
        {
          or: [
            { member: 'sales_overview.is_valid_sale', operator: 'equals', values: [true] },
            { member: 'sales_overview.currency', operator: 'set' },
          ],
        },
      ],
      order: { 'sales_overview.revenue': 'desc', 'sales_overview.order_status': 'asc' },
      limit: 5,
      offset: 10,
      timezone: 'asia/shanghai',
    });
    expect(query.dimensions).toEqual(['sales_overview.order_status']);
    expect(query.timeDimensions).toEqual([{ dimension: 'sales_overview.ordered_at', granularity: 'month' }]);
    expect(query.filters).toEqual([
      { member: 'sales_overview.item_count', operator: 'gt', values: ['2'] },
      {
        or: [
          { member: 'sales_overview.is_valid_sale', operator: 'equals', values: ['true'] },
          { member: 'sales_overview.currency', operator: 'set' },
        ],
      },
    ]);
    expect(query.order).toEqual([
      { id: 'sales_overview.revenue', desc: true },
      { id: 'sales_overview.order_status', desc: false },
    ]);
    expect([query.limit, query.rowLimit, query.offset, query.timezone]).toEqual([5, 5, 10, SHANGHAI]);
    expect(normalizeQuery({ measures: ['sales_overview.count'], order: [['sales_overview.count', 'asc']] }).order).toEqual([
      { id: 'sales_overview.count', desc: false },
    ]);
  });

  it('rejects malformed queries with a message naming the field', () => {
    rejects({}, /Query should contain either measures, dimensions or timeDimensions with granularities/);
    rejects({ measures: ['revenue'] }, /measures\.0: must be a member name like "cube\.member"/);
    rejects({ measures: ['sales_overview.count'], limit: 50_001 }, /limit 50001 is above the maximum of 50000/);
    rejects({ measures: ['sales_overview.count'], limit: 2.5 }, /limit: /);
    rejects({ measures: ['sales_overview.count'], colour: 'red' }, /Unrecognized key: "colour"/);
    rejects(
      { measures: ['sales_overview.count'], order: { 'sales_overview.count': 'up' } },
      /order: must be \{"cube\.member": "asc" \| "desc"/,
    );
    rejects(
      { measures: ['sales_overview.count'], timezone: 'Mars/Olympus' },
      /timezone must be a valid IANA time zone, got "Mars\/Olympus"/,
    );
    rejects(
      { measures: ['sales_overview.count'], filters: [{ member: 'sales_overview.order_status', operator: 'like', values: ['x'] }] },
      /filters\.0: operator "like" is not supported/,
    );
    rejects(
      { measures: ['sales_overview.count'], filters: [{ member: 'sales_overview.order_status', operator: 'equals' }] },
      /filters\.0: "values" are required/,
    );
    rejects(
      { measures: ['sales_overview.count'], filters: [{ or: [{ member: 'sales_overview.x', operator: 'equals', values: [{}] }] }] },
      /filters\.0\.or\.0: values\.0 must be/,
    );
    rejects([{ measures: ['sales_overview.count'] }], /'blendingQuery' query type is not supported/);
    rejects(
      { measures: ['sales_overview.count'], timeDimensions: [{ dimension: 'sales_overview.ordered_at', compareDateRange: [] }] },
      /'compareDateRangeQuery'/,
    );
    rejects({ measures: ['sales_overview.count'], responseFormat: 'compact' }, /responseFormat "compact" is not supported/);
    rejects(
      {
        measures: ['sales_overview.count'],
        timeDimensions: [{ dimension: 'sales_overview.ordered_at', dateRange: ['2025-02-30', '2025-03-01'] }],
      },
      /Invalid date '2025-02-30'/,
    );
  });

  it('parses the query parameter like Cube: JSON text (GET) or an object (POST)', () => {
    expect(parseQueryParam('{"measures":["sales_overview.count"]}')).toEqual({ measures: ['sales_overview.count'] });
    expect(() => parseQueryParam('{"measures":')).toThrow(/Unable to decode query param as JSON/);
    expect(() => parseQueryParam(undefined)).toThrow(/Query param is required/);
  });
});

describe('date ranges in the query time zone', () => {
  it('widens bare dates to whole days and keeps timestamps', () => {
    expect(resolveDateRange(['2025-01-01', '2025-01-31'], SHANGHAI, NOW)).toEqual(['2025-01-01T00:00:00.000', '2025-01-31T23:59:59.999']);
    expect(resolveDateRange(['2025-01-01T08:00:00', '2025-01-01 09:30'], SHANGHAI, NOW)).toEqual([
      '2025-01-01T08:00:00.000',
      '2025-01-01T09:30:00.000',
    ]);
    expect(resolveDateRange(['2025-02-10'], SHANGHAI, NOW)).toEqual(['2025-02-10T00:00:00.000', '2025-02-10T23:59:59.999']);
  });

  it("resolves Cube's relative ranges against now in the query's zone", () => {
    expect(parseRelativeDateRange('today', SHANGHAI, NOW)).toEqual(['2025-03-15T00:00:00.000', '2025-03-15T23:59:59.999']);
    expect(parseRelativeDateRange('yesterday', 'America/Los_Angeles', NOW)).toEqual(['2025-03-14T00:00:00.000', '2025-03-14T23:59:59.999']);
    expect(parseRelativeDateRange('this week', SHANGHAI, NOW)).toEqual(['2025-03-10T00:00:00.000', '2025-03-16T23:59:59.999']);
    expect(parseRelativeDateRange('last month', SHANGHAI, NOW)).toEqual(['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999']);
    expect(parseRelativeDateRange('This Quarter', SHANGHAI, NOW)).toEqual(['2025-01-01T00:00:00.000', '2025-03-31T23:59:59.999']);
    expect(parseRelativeDateRange('last 7 days', SHANGHAI, NOW)).toEqual(['2025-03-08T00:00:00.000', '2025-03-14T23:59:59.999']);
    expect(parseRelativeDateRange('last 3 months', SHANGHAI, NOW)).toEqual(['2024-12-01T00:00:00.000', '2025-02-28T23:59:59.999']);
    expect(parseRelativeDateRange('next 2 years', SHANGHAI, NOW)).toEqual(['2026-01-01T00:00:00.000', '2027-12-31T23:59:59.999']);
    expect(parseRelativeDateRange('from 2025-01-01 to today', SHANGHAI, NOW)).toEqual([
      '2025-01-01T00:00:00.000',
      '2025-03-15T23:59:59.999',
    ]);
    expect(() => parseRelativeDateRange('the day after the party', SHANGHAI, NOW)).toThrow(/Can't parse date: 'the day after the party'/);
  });

  it('clamps month arithmetic at month ends, like moment', () => {
    const endOfMarch = new Date('2025-03-31T12:00:00.000Z');
    expect(parseRelativeDateRange('last month', 'UTC', endOfMarch)).toEqual(['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999']);
  });

  it('resolves relative values in date filters too', () => {
    const query = normalizeQuery(
      {
        measures: ['sales_overview.count'],
        filters: [
          { member: 'sales_overview.ordered_at', operator: 'inDateRange', values: ['last month'] },
          { member: 'sales_overview.ordered_at', operator: 'beforeDate', values: ['this year'] },
          { member: 'sales_overview.ordered_at', operator: 'afterDate', values: ['2025-01-01'] },
        ],
        timezone: SHANGHAI,
      },
      { now: NOW },
    );
    expect(query.filters).toEqual([
      { member: 'sales_overview.ordered_at', operator: 'inDateRange', values: ['2025-02-01T00:00:00.000', '2025-02-28T23:59:59.999'] },
      { member: 'sales_overview.ordered_at', operator: 'beforeDate', values: ['2025-01-01T00:00:00.000'] },
      { member: 'sales_overview.ordered_at', operator: 'afterDate', values: ['2025-01-01'] },
    ]);
    rejects(
      {
        measures: ['sales_overview.count'],
        filters: [{ member: 'sales_overview.ordered_at', operator: 'inDateRange', values: ['last week', '2025-01-01'] }],
      },
      /Relative-date strings/,
    );
  });
});
