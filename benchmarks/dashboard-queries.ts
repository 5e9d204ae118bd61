/**
 * The executive dashboard's query set, as Cube REST queries over the governed model: defined once
 * here so the dashboard and the semantic-query benchmark send the same queries. Pure data (no Node
 * imports), so a browser bundle can import it too.
 *
 * Date ranges are whole days (and whole months for the monthly panels) ending on `asOf`, so every
 * query can be answered from the rollups declared in cube/model (a rollup never rounds a range).
 */

export interface DashboardQuery {
  /** Stable id of the panel, e.g. 'kpi_monthly_compare'. */
  id: string;
  /** What the panel shows. */
  title: string;
  /** The Cube query sent to POST /cubejs-api/v1/load. */
  query: Record<string, unknown>;
}

export interface DashboardPeriod {
  /** Last day the dashboard covers (YYYY-MM-DD), usually the latest day with orders. */
  asOf: string;
  /** Time zone of every query; rollups are built for UTC and Asia/Shanghai (cube/cube.js). */
  timezone?: string;
}

type Range = [string, string];

const pad = (n: number) => String(n).padStart(2, '0');
const ymd = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

function parseDay(day: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`dashboard period: asOf must be YYYY-MM-DD, got '${day}'`);
  return new Date(`${day}T00:00:00Z`);
}

/** The `days` whole days ending `endOffset` days before asOf. */
function lastDays(asOf: string, days: number, endOffset = 0): Range {
  const end = parseDay(asOf);
  end.setUTCDate(end.getUTCDate() - endOffset);
  const start = new Date(end);
  start.setUTCDate(start.getUTCDate() - (days - 1));
  return [ymd(start), ymd(end)];
}

/** The `months` whole calendar months ending with asOf's month, shifted back `monthsBack` months. */
function lastMonths(asOf: string, months: number, monthsBack = 0): Range {
  const day = parseDay(asOf);
  const endMonth = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - monthsBack + 1, 0)); // last day of the month
  const start = new Date(Date.UTC(endMonth.getUTCFullYear(), endMonth.getUTCMonth() - (months - 1), 1));
  return [ymd(start), ymd(endMonth)];
}

/** The dashboard's panels for a period: KPIs with comparison periods, sales, service, opinion, retention, RFM. */
export function dashboardQueries(period: DashboardPeriod): DashboardQuery[] {
  const timezone = period.timezone ?? 'Asia/Shanghai';
  const year = lastMonths(period.asOf, 12);
  const previousYear = lastMonths(period.asOf, 12, 12);
  const quarter = lastDays(period.asOf, 90);
  const month = lastDays(period.asOf, 30);
  const previousMonth = lastDays(period.asOf, 30, 30);
  return [
    {
      id: 'kpi_monthly_compare',
      title: 'Revenue, orders and buyers by month, against the previous 12 months',
      query: {
        measures: ['orders.revenue', 'orders.valid_order_count', 'orders.buyer_count'],
        timeDimensions: [{ dimension: 'orders.ordered_at', granularity: 'month', compareDateRange: [year, previousYear] }],
        timezone,
      },
    },
    {
      id: 'kpi_period_compare',
      title: 'KPI tiles: last 30 days against the 30 days before',
      query: {
        measures: ['orders.revenue', 'orders.valid_order_count', 'orders.avg_order_value', 'orders.invalid_order_share'],
        timeDimensions: [{ dimension: 'orders.ordered_at', compareDateRange: [month, previousMonth] }],
        timezone,
      },
    },
    {
      id: 'kpi_daily',
      title: 'Revenue, orders and order value by day (90 days)',
      query: {
        measures: ['orders.revenue', 'orders.valid_order_count', 'orders.avg_order_value'],
        timeDimensions: [{ dimension: 'orders.ordered_at', granularity: 'day', dateRange: quarter }],
        order: { 'orders.ordered_at': 'asc' },
        timezone,
      },
    },
    {
      id: 'revenue_by_status',
      title: 'Revenue and orders by status and month',
      query: {
        measures: ['orders.revenue', 'orders.count'],
        dimensions: ['orders.order_status'],
        timeDimensions: [{ dimension: 'orders.ordered_at', granularity: 'month', dateRange: year }],
        timezone,
      },
    },
    {
      id: 'brand_category_sales',
      title: 'Revenue and units by brand and category (90 days)',
      query: {
        measures: ['order_items.net_revenue', 'order_items.units'],
        dimensions: ['order_items.brand', 'order_items.category'],
        timeDimensions: [{ dimension: 'order_items.ordered_at', dateRange: quarter }],
        order: { 'order_items.net_revenue': 'desc' },
        timezone,
      },
    },
    {
      id: 'brand_weekly',
      title: 'Revenue by brand and week (90 days)',
      query: {
        measures: ['order_items.net_revenue'],
        dimensions: ['order_items.brand'],
        timeDimensions: [{ dimension: 'order_items.ordered_at', granularity: 'week', dateRange: quarter }],
        timezone,
      },
    },
    {
      id: 'service_quality_daily',
      title: 'Tickets, complaint share and satisfaction by day (90 days)',
      query: {
        measures: [
          'service_tickets.count',
          'service_tickets.complaint_count',
          'service_tickets.complaint_share',
          'service_tickets.avg_satisfaction',
        ],
        timeDimensions: [{ dimension: 'service_tickets.opened_at', granularity: 'day', dateRange: quarter }],
        timezone,
      },
    },
    {
      id: 'service_by_channel',
      title: 'Tickets and complaint share by channel and month',
      query: {
        measures: ['service_tickets.count', 'service_tickets.complaint_share'],
        dimensions: ['service_tickets.channel'],
        timeDimensions: [{ dimension: 'service_tickets.opened_at', granularity: 'month', dateRange: year }],
        timezone,
      },
    },
    {
      id: 'sentiment_daily',
      title: 'Mentions, negative share and sentiment index by day (90 days)',
      query: {
        measures: ['opinion_mentions.count', 'opinion_mentions.negative_share', 'opinion_mentions.sentiment_index'],
        timeDimensions: [{ dimension: 'opinion_mentions.published_at', granularity: 'day', dateRange: quarter }],
        timezone,
      },
    },
    {
      id: 'cohort_heatmap',
      title: 'Retention by acquisition cohort and months since first purchase (12 cohorts)',
      query: {
        measures: ['cohort_retention.retention_rate', 'cohort_retention.cohort_customers'],
        dimensions: ['cohort_retention.months_since_first'],
        timeDimensions: [{ dimension: 'cohort_retention.cohort_month', granularity: 'month', dateRange: year }],
        timezone,
      },
    },
    {
      id: 'retention_curve',
      title: 'Retention curve over the last 12 cohorts, and month-1 retention',
      query: {
        measures: ['cohort_retention.retention_rate', 'cohort_retention.month_1_retention_rate'],
        dimensions: ['cohort_retention.months_since_first'],
        timeDimensions: [{ dimension: 'cohort_retention.cohort_month', dateRange: year }],
        timezone,
      },
    },
    {
      id: 'customer_activity',
      title: 'Active, new and returning customers and repeat-purchase rate by month',
      query: {
        measures: [
          'customer_activity_monthly.active_customers',
          'customer_activity_monthly.new_customers',
          'customer_activity_monthly.returning_customers',
          'customer_activity_monthly.repeat_purchase_rate',
        ],
        timeDimensions: [{ dimension: 'customer_activity_monthly.month', granularity: 'month', dateRange: year }],
        timezone,
      },
    },
    {
      id: 'rfm_segments',
      title: 'Customers, buyers and revenue by RFM segment',
      query: {
        measures: ['customers.count', 'customers.buyer_count', 'customers.total_revenue'],
        dimensions: ['customers.rfm_segment'],
        timezone,
      },
    },
  ];
}
