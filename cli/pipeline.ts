import { buildPreAggregations } from '../semantic/pre-aggregations.ts';
import {
  pipelineSteps as pipelineStepsWithout,
  runPipeline as runPipelineWithout,
  type PipelineOptions,
  type PipelineSummary,
} from '../pipelines/run/run-pipeline.ts';
import { preAggregationsStep, type PipelineStep } from '../pipelines/run/steps.ts';
import type { CrmConfig } from '../shared/config.ts';

/**
 * The pipeline as the application runs it: the data stages (pipelines/) with the semantic layer's
 * rollup builder as the last step. This is where the two are joined, so neither imports the other.
 */
export function withRollups<T extends PipelineOptions>(options: T): T {
  return { ...options, rollups: options.rollups ?? buildPreAggregations };
}

/** The whole DAG with rollups: extract, dbt build, CLV scoring, dbt build of source:ml+, pre-aggregations. */
export function pipelineSteps(options: PipelineOptions, config: CrmConfig): PipelineStep[] {
  return pipelineStepsWithout(withRollups(options), config);
}

/** The whole pipeline on the embedded default, rollups included (see pipelines/run/run-pipeline.ts). */
export function runPipeline(options: PipelineOptions): Promise<PipelineSummary> {
  return runPipelineWithout(withRollups(options));
}

/** The rollup rebuild alone (`crm refresh`). */
export function refreshSteps(): PipelineStep[] {
  return [preAggregationsStep(buildPreAggregations)];
}
