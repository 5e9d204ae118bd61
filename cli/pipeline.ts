import { buildPreAggregations } from '../semantic/pre-aggregations.ts';
import { DEFAULT_PRE_AGGREGATION_TIMEZONES } from '../semantic/rollup-descriptions.ts';
import {
  pipelineSteps as pipelineStepsWithout,
  runPipeline as runPipelineWithout,
  type PipelineOptions,
  type PipelineSummary,
} from '../pipelines/run/run-pipeline.ts';
import { preAggregationsStep, type PipelineStep, type RollupBuilder } from '../pipelines/run/steps.ts';
import { loadConfig, type CrmConfig } from '../shared/config.ts';

/**
 * The pipeline as the application runs it: the data stages (pipelines/) with the semantic layer's
 * rollup builder as the last step. This is where the two are joined, so neither imports the other.
 */

/** The zones rollups are built for: cube/cube.js's and the shop's (config shop.timezone), whose days the dashboard asks for. */
export function rollupTimezones(config: CrmConfig): string[] {
  return [...new Set([...DEFAULT_PRE_AGGREGATION_TIMEZONES, config.shop.timezone])];
}

function rollupBuilder(config: CrmConfig): RollupBuilder {
  const timezones = rollupTimezones(config);
  return (options) => buildPreAggregations({ ...options, timezones });
}

export function withRollups<T extends PipelineOptions>(options: T, config: CrmConfig): T {
  return { ...options, rollups: options.rollups ?? rollupBuilder(config) };
}

/** The whole DAG with rollups: extract, dbt build, CLV scoring, dbt build of source:ml+, pre-aggregations. */
export function pipelineSteps(options: PipelineOptions, config: CrmConfig): PipelineStep[] {
  return pipelineStepsWithout(withRollups(options, config), config);
}

/** The whole pipeline on the embedded default, rollups included (see pipelines/run/run-pipeline.ts). */
export function runPipeline(options: PipelineOptions): Promise<PipelineSummary> {
  const config = options.config ?? loadConfig();
  return runPipelineWithout(withRollups({ ...options, config }, config));
}

/** The rollup rebuild alone (`crm refresh`). */
export function refreshSteps(config: CrmConfig): PipelineStep[] {
  return [preAggregationsStep(rollupBuilder(config))];
}
