import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { extractSource } from '../extract/run-extract.ts';
import type { SourceDefinition } from '../extract/sources.ts';
import { openWarehouse } from '../raw/warehouse-connection.ts';
import { resetSourceState } from '../raw/source-state.ts';
import { scoreCustomers } from '../transform/clv/score-customers.ts';
import { DbtFailedError, runDbt, warmDbtSession, type DbtSessionScope } from '../transform/dbt-cli.ts';
import { exportSchemaToParquet, importParquetSchemas, manifestIndexes, type ParquetTable } from '../transform/spark/parquet-boundary.ts';
import type { DbtNodeResult } from '../transform/run-results.ts';

/**
 * The pipeline DAG as data: a run is a list of steps executed in order against the run's own
 * copy of the warehouse (execute-run.ts publishes the copy only when the run passed). A stage
 * added by another part of the project (e.g. a TypeScript model-fitting step between two dbt
 * selections) is one more object in the list built by run-pipeline.ts.
 */
export interface StepContext {
  runId: string;
  /** The run's private warehouse copy: every step writes this file, never the published one. */
  warehousePath: string;
  /** The published warehouse (read-only for steps; its folder holds dbt's artifacts). */
  publishedPath: string;
  landingDir: string;
  log: Logger;
  report: (progress: string) => void;
}

export interface StepResult {
  rowsIn?: number | null;
  rowsOut?: number | null;
  rejects?: number | null;
  /** JSON detail kept in the ledger (per-table counts, notes). */
  detail?: unknown;
  dbtResults?: DbtNodeResult[];
  /** Set when the step had nothing to do (recorded as skipped, with this reason). */
  skipped?: string;
  /** Anything the caller wants back in the run summary (e.g. the extract summary). */
  output?: unknown;
}

export interface PipelineStep {
  /** Unique within a run: 'extract:orders', 'dbt:build', 'preaggregations'. */
  id: string;
  kind: 'extract' | 'dbt' | 'preaggregations' | 'state' | (string & {});
  title: string;
  /**
   * 'partial': a failure marks the run partial and the following steps still run (a source that
   * cannot be reached must not stop the others); 'fatal': the run fails and publishes nothing.
   */
  onFailure: 'partial' | 'fatal';
  /** Retries after a failure (extract steps: config extract.retries). */
  retries?: number;
  /** Delay before the first retry (doubles each time); default 1 s. */
  retryDelaySeconds?: number;
  run(context: StepContext): Promise<StepResult>;
  /**
   * Called once before the run copies the warehouse into its build, with the build's future path
   * (the file does not exist yet): a step may start slow preparations that do not touch it (the
   * dbt steps start their session and dbt's parse). Must not throw.
   */
  prepare?(context: { runId: string; warehousePath: string; publishedPath: string }): void;
  /** Called once when the run's steps are over (passed or not): releases what the step kept, e.g. a dbt session. Idempotent. */
  cleanup?(): Promise<void> | void;
}

/** Thrown by a step whose failure carries partial results worth keeping in the ledger. */
export class StepFailedError extends Error {
  override name = 'StepFailedError';
  constructor(
    override readonly cause: unknown,
    readonly result: StepResult,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export function extractStep(source: SourceDefinition, options: { retries?: number; retryDelaySeconds?: number } = {}): PipelineStep {
  return {
    id: `extract:${source.name}`,
    kind: 'extract',
    title: `extract ${source.name}`,
    onFailure: 'partial',
    retries: options.retries ?? 0,
    retryDelaySeconds: options.retryDelaySeconds ?? 1,
    async run(context) {
      const summary = await extractSource(source, {
        warehousePath: context.warehousePath,
        landingDir: context.landingDir,
        batchId: `${context.runId}:${source.name}`,
        log: context.log,
        onProgress: (read) => context.report(`${read.toLocaleString('en-US')} records read`),
      });
      if (summary.skipped !== undefined) {
        context.log.info(
          { event: 'extract_skipped', source: source.name, reason: summary.skipped },
          `${source.name}: skipped (${summary.skipped})`,
        );
        return { skipped: summary.skipped, detail: { tables: [], notes: summary.notes }, output: summary };
      }
      for (const table of summary.tables) {
        context.log.info(
          { event: 'extract_table', source: source.name, ...table, rejectedSamples: undefined },
          `${source.name} -> raw.${table.table}`,
        );
        for (const sample of table.rejectedSamples) {
          context.log.warn(
            { event: 'record_rejected', source: source.name, table: table.table, ...sample },
            `${source.name}: rejected ${sample.location}: ${sample.reason}`,
          );
        }
      }
      const sum = (pick: (t: (typeof summary.tables)[number]) => number) => summary.tables.reduce((n, t) => n + pick(t), 0);
      return {
        rowsIn: sum((t) => t.read),
        rowsOut: sum((t) => t.inserted + t.updated),
        rejects: sum((t) => t.rejected),
        detail: { tables: summary.tables.map(({ rejectedSamples: _samples, ...t }) => t), notes: summary.notes },
        output: summary,
      };
    },
  };
}

/** Forgets a source's watermark/manifest in the build, so its next extract re-reads it in full (backfill). */
export function resetStateStep(sourceName: string): PipelineStep {
  return {
    id: `reset-state:${sourceName}`,
    kind: 'state',
    title: `reset state of ${sourceName}`,
    onFailure: 'fatal',
    async run(context) {
      if (!fs.existsSync(context.warehousePath)) return { skipped: 'no warehouse yet: nothing to reset' };
      const warehouse = await openWarehouse(context.warehousePath);
      try {
        const removed = await resetSourceState(warehouse.connection, sourceName);
        return { detail: removed, rowsOut: removed.stateRows + removed.files };
      } finally {
        warehouse.close();
      }
    },
  };
}

export function dbtBuildStep(
  options: {
    id?: string;
    title?: string;
    select?: string[];
    exclude?: string[];
    vars?: Record<string, unknown>;
    fullRefresh?: boolean;
    unitTests?: boolean;
    /** false: no data tests (--exclude-resource-type test). */
    dataTests?: boolean;
    /**
     * Build on the spark target (docs/spark.md) instead of DuckDB: first the warehouse copy's
     * `sourceSchemas` (raw, then ml after scoring) are exported to Parquet for Spark's sources,
     * then dbt-spark builds, then the marts and snapshots it built are loaded back into the copy.
     */
    spark?: { sourceSchemas: string[] };
    /**
     * Run dbt in this scope's persistent session (DuckDB only): the dbt steps of one run share it,
     * so only the first pays for Python's start-up and the parse (crm_dbt.py). Without it, each
     * step starts a dbt process of its own.
     */
    session?: DbtSessionScope;
  } = {},
): PipelineStep {
  const args = ['build'];
  if (options.select?.length) args.push('--select', ...options.select);
  if (options.exclude?.length) args.push('--exclude', ...options.exclude);
  if (options.fullRefresh) args.push('--full-refresh');
  // dbt's advice: unit tests check SQL logic on fixed inputs, so they belong to development and CI
  // (and a run that asks for them), not to every scheduled build of the same code.
  const excludedTypes = [...(options.unitTests === false ? ['unit_test'] : []), ...(options.dataTests === false ? ['test'] : [])];
  if (excludedTypes.length > 0) args.push('--exclude-resource-type', ...excludedTypes);
  return {
    id: options.id ?? 'dbt:build',
    kind: 'dbt',
    title: options.title ?? `dbt ${args.join(' ')}`,
    onFailure: 'fatal',
    async run(context) {
      let finished = 0;
      const toResult = (results: DbtNodeResult[]): StepResult => ({
        rowsOut: results.filter((r) => r.uniqueId.startsWith('model.')).reduce((n, r) => n + (r.rowsAffected ?? 0), 0),
        rejects: results
          .filter((r) => r.uniqueId.startsWith('test.') || r.uniqueId.startsWith('unit_test.'))
          .filter((r) => r.status !== 'pass').length,
        dbtResults: results,
        detail: { args, vars: options.vars ?? null },
      });
      const artifactsDir = artifactsDirFor(context.publishedPath, Boolean(options.spark));
      const targetPath = runTargetPath(artifactsDir, context.runId);
      const spark = options.spark ? await prepareSparkBuild(context, options.spark.sourceSchemas) : null;
      const vars = spark ? { ...options.vars, ...spark.vars } : options.vars;
      try {
        const outcome = await runDbt({
          args,
          warehousePath: context.warehousePath,
          artifactsDir,
          targetPath,
          ...(vars ? { vars } : {}),
          ...(spark ? { target: 'spark' as const, sparkDir: spark.sparkDir } : {}),
          ...(options.session && !spark ? { session: options.session.session(context.warehousePath) } : {}),
          onNodeFinished: (node) => {
            finished += 1;
            context.report(`${finished} nodes done; last: ${node.uniqueId.split('.').slice(-2).join('.')} ${node.status}`);
          },
        });
        promoteTarget(artifactsDir, targetPath);
        if (spark) {
          const indexes = manifestIndexes(path.join(artifactsDir, 'target', 'manifest.json'));
          const loaded = await importParquetSchemas(context.warehousePath, spark.exportDir, SPARK_SERVED_SCHEMAS, indexes);
          context.log.info(
            { event: 'spark_marts_loaded', tables: loaded.length, rows: loaded.reduce((n, t) => n + t.rows, 0) },
            `loaded ${loaded.length} table(s) built by Spark into the warehouse copy`,
          );
          const result = toResult(outcome.results);
          return {
            ...result,
            detail: { ...(result.detail as object), sparkSources: spark.exported, sparkLoaded: loaded },
            output: outcome,
          };
        }
        return { ...toResult(outcome.results), output: outcome };
      } catch (error) {
        if (error instanceof DbtFailedError) throw new StepFailedError(error, toResult(error.outcome?.results ?? error.failures));
        throw error;
      }
    },
    ...(options.session && !options.spark
      ? {
          // The first dbt step of the run starts the session and dbt's parse while the warehouse is copied.
          prepare: (context: { runId: string; warehousePath: string; publishedPath: string }) => {
            const scope = options.session!;
            if (scope.started) return;
            const artifactsDir = artifactsDirFor(context.publishedPath, false);
            warmDbtSession(scope.session(context.warehousePath), {
              warehousePath: context.warehousePath,
              artifactsDir,
              targetPath: runTargetPath(artifactsDir, context.runId),
              ...(options.vars ? { vars: options.vars } : {}),
            });
          },
        }
      : {}),
    ...(options.session ? { cleanup: () => options.session!.close() } : {}),
  };
}

/** dbt's target/ and logs/ folder of a published warehouse (the spark target has its own). */
function artifactsDirFor(publishedPath: string, spark: boolean): string {
  const base = path.basename(publishedPath, path.extname(publishedPath));
  return path.join(path.dirname(publishedPath), spark ? `.dbt-${base}-spark` : `.dbt-${base}`);
}

/**
 * Fits the CLV model (BG/NBD + Gamma-Gamma) on the copy's credited valid sales and writes
 * ml.clv_predictions + a ml.clv_model_fits row (pipelines/transform/clv/score-customers.ts), between
 * the dbt build of everything upstream of source:ml and the build of source:ml+. Skipped (with the
 * reason) while marts.fct_orders does not exist; a model that cannot be fitted writes null
 * predictions and the reason, logged as a warning and kept in the step's detail.
 */
export function clvScoreStep(
  options: {
    asOf?: string | null;
    reuseFitWithinDays?: number;
    model?: 'auto' | 'bgnbd' | 'mbgnbd' | 'paretonbd';
    /** config shop.timezone: purchase days are the shop's days. */
    timezone?: string;
  } = {},
): PipelineStep {
  return {
    id: 'clv:score',
    kind: 'model',
    title: 'score customers (CLV: repeat-purchase model + Gamma-Gamma)',
    onFailure: 'fatal',
    async run(context) {
      const warehouse = await openWarehouse(context.warehousePath);
      try {
        const exists = await warehouse.connection.runAndReadAll(
          "select count(*) from information_schema.tables where table_catalog = current_database() and table_schema = 'marts' and table_name = 'fct_orders'",
        );
        if (Number(exists.getRows()[0]![0]) === 0) return { skipped: 'marts.fct_orders is not built yet: no sales to score' };
        const result = await scoreCustomers(warehouse.connection, {
          asOf: options.asOf ?? null,
          runId: context.runId,
          onProgress: context.report,
          reuseFitWithinDays: options.reuseFitWithinDays ?? 0,
          ...(options.model ? { model: options.model } : {}),
          ...(options.timezone ? { timezone: options.timezone } : {}),
        });
        const { fit, ...rest } = result;
        const detail = {
          ...rest,
          params: fit
            ? {
                model: fit.model,
                bgnbd: fit.purchases.params,
                gammaGamma: fit.spend.params,
                bgnbdLogLikelihood: fit.purchases.logLikelihood,
              }
            : null,
        };
        if (result.status !== 'fitted')
          context.log.warn({ event: 'clv_not_fitted', ...detail }, `CLV model not fitted, predictions are null: ${result.reason}`);
        else
          context.log.info(
            { event: 'clv_scored', ...detail },
            `CLV: ${result.customers} customers scored in ${result.seconds.total.toFixed(2)}s`,
          );
        if (result.columnDrift)
          context.log.warn(
            { event: 'clv_column_drift', drift: result.columnDrift },
            `ml tables replaced with the scorer's columns: ${result.columnDrift}`,
          );
        return { rowsIn: result.customers, rowsOut: result.customers, detail, output: result };
      } finally {
        warehouse.close();
      }
    },
  };
}

/** The schemas Spark builds that the DuckDB serving file receives (the API and Cube read marts). */
const SPARK_SERVED_SCHEMAS = ['marts', 'snapshots'];

/**
 * The spark target's folder beside the published warehouse, <dir>/.spark-<name>: Spark's warehouse
 * dir (Delta tables, kept from run to run so incremental models stay incremental), the Derby
 * metastore, and the Parquet boundary (parquet/ to Spark, export/ back).
 */
export function sparkDirFor(publishedPath: string): string {
  return path.join(path.dirname(publishedPath), `.spark-${path.basename(publishedPath, path.extname(publishedPath))}`);
}

async function prepareSparkBuild(
  context: StepContext,
  sourceSchemas: string[],
): Promise<{ sparkDir: string; exportDir: string; exported: ParquetTable[]; vars: Record<string, unknown> }> {
  const sparkDir = sparkDirFor(context.publishedPath);
  const parquetDir = path.join(sparkDir, 'parquet');
  const exportDir = path.join(sparkDir, 'export');
  const exported: ParquetTable[] = [];
  for (const schema of sourceSchemas) exported.push(...(await exportSchemaToParquet(context.warehousePath, schema, parquetDir)));
  fs.rmSync(exportDir, { recursive: true, force: true });
  fs.mkdirSync(exportDir, { recursive: true });
  context.log.info(
    { event: 'spark_sources_exported', tables: exported.length, rows: exported.reduce((n, t) => n + t.rows, 0) },
    `exported ${exported.length} source table(s) (${sourceSchemas.join(', ')}) to Parquet for Spark`,
  );
  return {
    sparkDir,
    exportDir,
    exported,
    vars: { spark_parquet_dir: parquetDir, spark_parquet_schemas: sourceSchemas, spark_export_dir: exportDir },
  };
}

/**
 * dbt's target/ for one run: <artifacts>/target-<run-id>, seeded with the last good run's
 * partial-parse state (so parsing stays incremental). A run killed mid-build can leave an orphaned
 * dbt process behind that still writes its target; giving each run its own keeps it from touching
 * the next run's run_results.json. Targets of other runs are removed here (we hold the run lock).
 */
function runTargetPath(artifactsDir: string, runId: string): string {
  const target = path.join(artifactsDir, `target-${runId}`);
  fs.mkdirSync(artifactsDir, { recursive: true });
  for (const entry of fs.readdirSync(artifactsDir)) {
    if (!entry.startsWith('target-') || entry === path.basename(target)) continue;
    try {
      fs.rmSync(path.join(artifactsDir, entry), { recursive: true, force: true });
    } catch {
      // An orphaned dbt of a killed run may still be writing there (ENOTEMPTY): best effort, a
      // later run removes it; it never touches this run's target.
    }
  }
  const last = path.join(artifactsDir, 'target');
  fs.mkdirSync(target, { recursive: true });
  for (const file of ['partial_parse.msgpack', 'manifest.json']) {
    // A target already holding them was seeded by this run's preparation, whose parse may be writing them now.
    if (fs.existsSync(path.join(last, file)) && !fs.existsSync(path.join(target, file)))
      fs.copyFileSync(path.join(last, file), path.join(target, file));
  }
  return target;
}

/** A passing build's target becomes <artifacts>/target (what `dbt docs`, state selection and the next run read). */
function promoteTarget(artifactsDir: string, target: string): void {
  const last = path.join(artifactsDir, 'target');
  fs.rmSync(last, { recursive: true, force: true });
  fs.renameSync(target, last);
}

/**
 * Builds the semantic layer's rollup tables into a warehouse copy and says what it built. The
 * semantic layer (semantic/pre-aggregations.ts) provides it; the composition root (cli/) hands it
 * to the step list, so the pipeline never imports a later stage.
 */
export type RollupBuilder = (options: { warehousePath: string; log?: Logger }) => Promise<{ tables: { rows?: number }[] }>;

/** Builds Cube's rollup tables in the run's copy, so a published version carries rollups that match its marts. */
export function preAggregationsStep(build: RollupBuilder): PipelineStep {
  return {
    id: 'preaggregations',
    kind: 'preaggregations',
    title: 'refresh pre-aggregations',
    onFailure: 'fatal',
    async run(context) {
      const built = await build({ warehousePath: context.warehousePath, log: context.log });
      return { rowsOut: built.tables.reduce((n, t) => n + (t.rows ?? 0), 0), detail: built };
    },
  };
}
