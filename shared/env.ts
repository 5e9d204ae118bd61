/**
 * Every CRM_* environment variable the application reads, in one place: its name, default and
 * meaning. Modules read them only through envValue() (a name not listed here is a type error), and
 * .env.example is this table rendered (renderEnvExample; tests/unit/env-settings.test.ts checks
 * both). Parsing stays beside the code that uses a value, where the error can name the option.
 */
export const ENV_SETTINGS = {
  CRM_ENV: { section: 'deployment', default: '', description: '"production": no generated development keys; every secret must be set' },
  CRM_CONFIG: { section: 'deployment', default: 'crm.config.json', description: 'the operations config file (absent file: every default)' },
  CRM_WAREHOUSE_PATH: {
    section: 'deployment',
    default: 'warehouse/crm.duckdb',
    description: 'the DuckDB warehouse file (read by the CLI, profiles.yml and the API)',
  },
  CRM_LANDING_DIR: { section: 'deployment', default: 'data/landing', description: 'the folder the file extractors read' },
  CRM_LOG_LEVEL: { section: 'deployment', default: 'info', description: 'pino log level (trace, debug, info, warn, error, fatal, silent)' },
  CRM_PSEUDONYM_KEY: {
    section: 'secrets',
    default: '',
    description:
      'key of the contact-point pseudonyms, at least 32 bytes (docs/pseudonyms.md); development: generated once outside the repository',
  },
  CRM_PSEUDONYM_KEY_FILE: { section: 'secrets', default: '', description: 'a file holding CRM_PSEUDONYM_KEY, outside the repository' },
  CRM_API_SECRET: {
    section: 'secrets',
    default: '',
    description: 'HS256 secret the API verifies JWTs with (the quick start makes a random one)',
  },
  CRM_ORDERS_API_TOKEN: { section: 'secrets', default: '', description: 'bearer token of the orders_http source' },
  CRM_ORDERS_PG_URL: { section: 'sources', default: '', description: 'PostgreSQL URL of the orders_pg source (schema shop)' },
  CRM_ORDERS_API_URL: { section: 'sources', default: '', description: 'base URL of the orders_http source' },
  CRM_ORDERS_API_PAGINATION: { section: 'sources', default: 'cursor', description: 'orders_http paging: cursor or page' },
  CRM_ORDERS_API_PAGE_SIZE: { section: 'sources', default: '500', description: 'orders_http records per page' },
  CRM_ORDERS_API_PAGES_PER_BATCH: { section: 'sources', default: '20', description: 'orders_http pages committed together' },
  CRM_ORDERS_API_TIMEOUT_MS: { section: 'sources', default: '30000', description: 'orders_http time limit of one request, ms' },
  CRM_ORDERS_API_RETRIES: { section: 'sources', default: '3', description: 'orders_http retries of a failed request' },
  CRM_OPINION_FEEDS: {
    section: 'sources',
    default: '',
    description: 'comma-separated feed URLs read by opinion_feeds, besides opinion.feeds[] of the config',
  },
  CRM_EXTRACT_MEMORY_LIMIT: {
    section: 'extract',
    default: '640MB',
    description: "DuckDB's memory limit while extracting (spills to disk beyond it)",
  },
  CRM_MAPPED_MEMORY_LIMIT: {
    section: 'extract',
    default: '384MB',
    description: "DuckDB's memory limit of a mapped source's own DuckDB (its staged and checked rows; spills to disk beyond it)",
  },
  CRM_EXTRACT_THREADS: { section: 'extract', default: '', description: 'DuckDB threads while extracting (default: one per core)' },
  CRM_BULK_LOAD: {
    section: 'extract',
    default: '1',
    description: '0 sends every record through the row path (zod per record) instead of the bulk path and the SQL checks of mapped sources',
  },
  CRM_SENTIMENT_MODEL_DIR: {
    section: 'extract',
    default: 'data/models/sentiment',
    description: 'where crm sentiment adapt writes shop-adapted sentiment models (the scorer at load uses them when present)',
  },
  CRM_BULK_TIMING: { section: 'extract', default: '', description: '1 prints how long each bulk-path step took (stderr), for profiling' },
  CRM_VENV_DIR: { section: 'transform', default: '.venv', description: 'the Python venv of dbt' },
  CRM_DBT_SESSION: {
    section: 'transform',
    default: 'on',
    description: '"off": each dbt build of a run starts a dbt process of its own instead of sharing one (docs/performance.md)',
  },
  CRM_PYTHON: { section: 'transform', default: 'python3', description: 'the Python that creates the venv' },
  CRM_SPARK_VENV_DIR: {
    section: 'transform',
    default: '.venv-spark',
    description: 'the Python venv of the Spark target (dbt-spark, pyspark, delta-spark; `crm setup spark`)',
  },
  CRM_SPARK_MASTER: {
    section: 'transform',
    default: 'local[2]',
    description: "Spark master of the spark target's session (docs/spark.md)",
  },
  CRM_SPARK_DRIVER_MEMORY: { section: 'transform', default: '2g', description: "Spark driver memory of the spark target's session" },
  CRM_SPARK_SHUFFLE_PARTITIONS: {
    section: 'transform',
    default: '2',
    description: 'spark.sql.shuffle.partitions of the spark target (raise it for large shops on a cluster)',
  },
  CRM_DEFAULT_TIMEZONE: { section: 'api', default: 'UTC', description: 'time zone of semantic queries that name none' },
  CRM_API_QUERY_TIMEOUT_MS: {
    section: 'api',
    default: '30000',
    description: 'time limit of each API warehouse query, ms (0: none); past it the API answers 504',
  },
  CRM_API_CACHE_ENTRIES: { section: 'api', default: '500', description: 'entries of the /load result cache (0 disables it)' },
  CRM_API_RESPONSE_CACHE_TTL_MS: { section: 'api', default: '60000', description: 'longest life of a front-cache entry, ms (0: off)' },
  CRM_API_IDLE_CLOSE_MS: {
    section: 'api',
    default: '300000',
    description: 'let go of the warehouse file after this long without a query, ms (0: never)',
  },
  CRM_API_DUCKDB_THREADS: {
    section: 'api',
    default: '1',
    description:
      "threads of the API's DuckDB instance (default 1: queries run side by side, each on one core; 0: DuckDB's default, one per core)",
  },
  CRM_API_RATE_LIMIT: { section: 'api', default: '600', description: 'requests per caller per minute on /api/v1' },
  CRM_API_CUSTOMER_STORE: {
    section: 'api',
    default: 'on',
    description: '"off": customer lookups read DuckDB only, no customer store (<warehouse>.serving/)',
  },
  CRM_API_REQUIRE_EXP: { section: 'api', default: 'true', description: '"false" accepts tokens without exp' },
  CRM_FAILPOINTS: { section: 'testing', default: '', description: 'comma-separated fault-injection points (kill tests only)' },
  // Set by the application for the processes it starts, never by you (left out of .env.example).
  CRM_DBT_PLUGIN_DIR: {
    section: 'set for child processes',
    default: '',
    description: "dbt's folder of dbt-duckdb plugins (profiles.yml module_paths)",
  },
  CRM_SPARK_DIR: {
    section: 'set for child processes',
    default: '',
    description: "the spark target's folder: Spark warehouse dir, Derby metastore, Parquet boundary (profiles.yml)",
  },
  CRM_ALERT_KIND: {
    section: 'set for child processes',
    default: '',
    description: 'the alert command: what happened (failed, partial, stale)',
  },
  CRM_ALERT_SUMMARY: { section: 'set for child processes', default: '', description: 'the alert command: one line saying what happened' },
  CRM_ALERT_RUN_ID: { section: 'set for child processes', default: '', description: 'the alert command: the run it is about' },
  CRM_SCHEDULE: { section: 'set for child processes', default: '', description: 'a scheduled run: the schedule that started it' },
} as const satisfies Record<string, { section: string; default: string; description: string }>;

const SET_BY_THE_APP = 'set for child processes';

export type EnvName = keyof typeof ENV_SETTINGS;

/** The variable's value, trimmed; undefined when unset or blank (callers apply the default they document). */
export function envValue(name: EnvName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** .env.example: every variable with its default (commented out) and meaning, by section. */
export function renderEnvExample(): string {
  const lines = [
    '# Every CRM_* variable the application reads (shared/env.ts; this file is rendered from it).',
    '# Copy to .env or set them in your scheduler; none is required for the quick start.',
    '',
  ];
  let section = '';
  for (const [name, setting] of Object.entries(ENV_SETTINGS)) {
    if (setting.section === SET_BY_THE_APP) continue;
    if (setting.section !== section) {
      if (section) lines.push('');
      section = setting.section;
      lines.push(`## ${section}`);
    }
    lines.push(`# ${setting.description}`, `# ${name}=${setting.default}`);
  }
  return lines.join('\n') + '\n';
}
