import { rescorePosts } from '../extract/opinion/rescore-posts.ts';
import { resolveScorer, type ScorerChoice } from '../extract/opinion/sentiment/trained-scorer.ts';
import { openWarehouse } from '../raw/warehouse-connection.ts';
import type { PipelineStep } from './steps.ts';

/**
 * Re-scores the stored opinion posts in the run's build copy with the current scorer (adapted model
 * where present, else the shipped one): idempotent, and published with the run, so the marts follow
 * on the next dbt build.
 */
export function sentimentRescoreStep(choice: ScorerChoice = 'default'): PipelineStep {
  return {
    id: 'sentiment:rescore',
    kind: 'model',
    title: 're-score stored opinion posts with the current sentiment scorer',
    onFailure: 'fatal',
    async run(context) {
      const { scorer, fallback } = resolveScorer(choice);
      if (fallback) context.log.warn({ event: 'sentiment_fallback', reason: fallback }, `sentiment: lexicon fallback (${fallback})`);
      const warehouse = await openWarehouse(context.warehousePath);
      try {
        const result = await rescorePosts(warehouse.connection, scorer);
        context.log.info(
          { event: 'sentiment_rescored', ...result },
          `sentiment: ${result.rescored} of ${result.posts} posts re-scored with ${scorer.name} ${scorer.version}`,
        );
        if (result.posts === 0) return { skipped: 'raw.opinion_posts holds no posts', detail: result, output: result };
        return { rowsIn: result.posts, rowsOut: result.rescored, detail: result, output: result };
      } finally {
        warehouse.close();
      }
    },
  };
}
