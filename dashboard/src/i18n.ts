/** Every label of the page in English and Chinese; the language toggle switches between them. */
export type Lang = 'en' | 'zh';

const STRINGS = {
  title: { en: 'Customer value · executive dashboard', zh: '客户价值 · 管理驾驶舱' },
  subtitle: { en: 'Governed metrics from the Cube semantic layer', zh: '来自 Cube 语义层的统一口径指标' },
  from: { en: 'From', zh: '开始' },
  to: { en: 'To', zh: '结束' },
  brand: { en: 'Brand', zh: '品牌' },
  allBrands: { en: 'All brands', zh: '全部品牌' },
  last30: { en: '30 days', zh: '近30天' },
  last90: { en: '90 days', zh: '近90天' },
  last365: { en: '12 months', zh: '近12个月' },
  apply: { en: 'Apply', zh: '应用' },
  vsPrevious: { en: 'vs previous period', zh: '较上一周期' },
  previous: { en: 'previous', zh: '上期' },
  noChange: { en: 'no comparison', zh: '无对比' },
  snapshot: { en: 'current snapshot', zh: '当前快照' },
  allBrandsOnly: { en: 'all brands', zh: '全品牌口径' },
  allCustomersSnapshot: { en: 'all customers, all brands; not the selected period', zh: '全部客户、全品牌；不随所选期间变化' },
  loading: { en: 'Loading…', zh: '加载中…' },
  noData: { en: 'No data for this selection', zh: '所选范围无数据' },
  notInModel: { en: 'Not in the semantic model yet', zh: '语义层尚未提供' },
  error: { en: 'Could not load', zh: '加载失败' },
  tokenTitle: { en: 'Sign in with an API token', zh: '请输入 API 令牌' },
  tokenHelp: {
    en: 'Open the link that `npm start` prints, or paste a JWT signed with CRM_API_SECRET.',
    zh: '打开 `npm start` 打印的链接，或粘贴用 CRM_API_SECRET 签发的 JWT。',
  },
  tokenButton: { en: 'Open dashboard', zh: '打开驾驶舱' },
  tokenRejected: { en: 'The API rejected the token', zh: 'API 拒绝了该令牌' },
  // KPI cards
  kpi_revenue: { en: 'Net revenue', zh: '净收入' },
  kpi_orders: { en: 'Valid orders', zh: '有效订单数' },
  kpi_active_customers: { en: 'Active customers', zh: '活跃客户数' },
  kpi_avg_order_value: { en: 'Average order value', zh: '客单价' },
  kpi_repeat_rate: { en: 'Repeat purchase rate', zh: '复购率' },
  kpi_satisfaction: { en: 'Satisfaction (1–5)', zh: '满意度 (1–5)' },
  kpi_first_reply: { en: 'First reply, median (min)', zh: '首次响应时长中位数(分钟)' },
  kpi_complaint_share: { en: 'Complaint share', zh: '投诉占比' },
  kpi_sentiment: { en: 'Sentiment index', zh: '舆情情感指数' },
  kpi_negative_share: { en: 'Negative mentions', zh: '负面声量占比' },
  kpi_at_risk: { en: 'At-risk customers', zh: '流失风险客户' },
  // Panels
  panel_cohort: { en: 'Cohort retention', zh: '同期群留存' },
  panel_cohort_sub: {
    en: 'Share of each first-purchase cohort buying again, by months since first order',
    zh: '各首购月份客户在之后各月的回购比例',
  },
  panel_rfm: { en: 'RFM segments', zh: 'RFM 客户分层' },
  panel_rfm_sub: {
    en: 'All customers by segment as of the latest data: count and lifetime revenue',
    zh: '截至最新数据的全部客户按分层统计：人数与累计收入',
  },
  panel_predicted: { en: 'Predicted customer value', zh: '客户预测价值分布' },
  panel_predicted_sub: { en: 'All customers by predicted 365-day value band', zh: '按未来365天预测价值区间分组的全部客户数' },
  panel_predicted_fallback: {
    en: 'Customers by lifetime revenue (predicted value not in the model yet)',
    zh: '按累计收入分组的客户数（预测价值尚未进入语义层）',
  },
  panel_service: { en: 'Service quality', zh: '服务质量' },
  panel_service_sub: { en: 'Response times, satisfaction and complaint share over time', zh: '响应时长、满意度与投诉占比趋势' },
  panel_sentiment: { en: 'Public sentiment', zh: '舆情走势' },
  panel_sentiment_sub: {
    en: 'Mentions per day; red marks are negative spikes. Click a day to read its mentions.',
    zh: '每日声量；红色标记为负面高峰。点击某一天查看当日提及。',
  },
  panel_mentions: { en: 'Mentions on', zh: '当日提及：' },
  panel_mentions_hint: { en: 'Click a day on the sentiment chart to list its mentions.', zh: '点击舆情图中的某一天以查看当日提及。' },
  customers: { en: 'Customers', zh: '客户数' },
  lifetimeRevenue: { en: 'Lifetime revenue', zh: '累计收入' },
  monthsSinceFirst: { en: 'Months since first order', zh: '首购后月数' },
  cohort: { en: 'Cohort', zh: '首购月份' },
  retention: { en: 'Retention', zh: '留存率' },
  mentions: { en: 'Mentions', zh: '提及数' },
  negative: { en: 'Negative', zh: '负面' },
  otherMentions: { en: 'Neutral or positive', zh: '中性或正面' },
  sentimentIndex: { en: 'Sentiment index', zh: '情感指数' },
  negativeSpike: { en: 'Negative spike', zh: '负面高峰' },
  firstReply: { en: 'First reply, median', zh: '首次响应中位数' },
  resolution: { en: 'Resolution, median', zh: '解决时长中位数' },
  satisfaction: { en: 'Satisfaction', zh: '满意度' },
  complaintShare: { en: 'Complaint share', zh: '投诉占比' },
  col_time: { en: 'Time', zh: '时间' },
  col_platform: { en: 'Platform', zh: '平台' },
  col_brand: { en: 'Brand', zh: '品牌' },
  col_product: { en: 'Product', zh: '产品' },
  col_sentiment: { en: 'Sentiment', zh: '情感' },
  col_score: { en: 'Score', zh: '得分' },
  col_text: { en: 'Text', zh: '内容' },
  sentiment_negative: { en: 'negative', zh: '负面' },
  sentiment_neutral: { en: 'neutral', zh: '中性' },
  sentiment_positive: { en: 'positive', zh: '正面' },
  seg_champions: { en: 'Champions', zh: '重要价值客户' },
  seg_loyal: { en: 'Loyal', zh: '忠诚客户' },
  seg_potential_loyalist: { en: 'Potential loyalists', zh: '潜力客户' },
  seg_new: { en: 'New customers', zh: '新客户' },
  seg_promising: { en: 'Promising', zh: '有潜力' },
  seg_need_attention: { en: 'Need attention', zh: '需关注' },
  seg_about_to_sleep: { en: 'About to sleep', zh: '即将沉睡' },
  seg_at_risk: { en: 'At risk', zh: '流失风险' },
  seg_can_t_lose: { en: "Can't lose them", zh: '不能失去' },
  seg_hibernating: { en: 'Hibernating', zh: '休眠客户' },
  seg_lost: { en: 'Lost', zh: '已流失' },
  wholeMonths: { en: 'whole months; trend: 12 months', zh: '按整月；趋势为近12个月' },
  ticketBrandNote: { en: 'a ticket has a brand only when it names an order', zh: '工单仅在关联订单时才有品牌' },
  churnHigh: { en: 'churn risk “high” (CLV model)', zh: '流失风险“高”（CLV 模型）' },
  rfmAtRisk: { en: 'RFM segment “at risk”', zh: 'RFM 分层“流失风险”' },
  clvModelCaption: { en: 'Model: {model}, fitted {date}', zh: '模型：{model}，拟合于 {date}' },
  minutesLog: { en: 'minutes (log)', zh: '分钟(对数)' },
  rfmTotal: { en: 'RFM total', zh: 'RFM 总分' },
  footer: {
    en: 'Data through the Cube REST API (/cubejs-api/v1) of this server; every figure is defined once in dbt and Cube.',
    zh: '数据来自本服务的 Cube REST API (/cubejs-api/v1)；每个指标只在 dbt 与 Cube 中定义一次。',
  },
} as const satisfies Record<string, Record<Lang, string>>;

export type StringKey = keyof typeof STRINGS;

let current: Lang = 'en';

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export function lang(): Lang {
  return current;
}

export function t(key: StringKey): string {
  return STRINGS[key][current];
}

/** A label for a value the warehouse holds (segment, sentiment), falling back to the value itself. */
export function tValue(prefix: 'seg_' | 'sentiment_', value: string): string {
  const key = `${prefix}${value.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
  return key in STRINGS ? STRINGS[key as StringKey][current] : value;
}

export function locale(): string {
  return current === 'zh' ? 'zh-CN' : 'en-US';
}
