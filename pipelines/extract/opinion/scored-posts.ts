import type { SourceRecord } from '../readers/source-record.ts';
import type { SourceDefinition } from '../source-contract.ts';
import { withSentiment } from './sentiment/default-scorer.ts';
import { defaultScorer } from './sentiment/trained-scorer.ts';
import type { SentimentScorer } from './sentiment/sentiment-scorer.ts';

/** Columns a post from a file drop never carries (they describe feeds): set to null, not reported as drift. */
const FEED_ONLY_FIELDS = ['url', 'title'] as const;

async function* scoreRecords(
  records: AsyncIterable<SourceRecord>,
  sourceName: string,
  scorer: SentimentScorer,
): AsyncGenerator<SourceRecord> {
  for await (const record of records) {
    if (record.fields === null) {
      yield record;
      continue;
    }
    const fields: Record<string, unknown> = { ...record.fields };
    for (const name of FEED_ONLY_FIELDS) if (!(name in fields)) fields[name] = null;
    if (!('source_feed' in fields)) fields.source_feed = sourceName;
    // The quarantine keeps rawText (what the source held), never the derived columns.
    yield { ...record, fields: withSentiment(fields, scorer) };
  }
}

/**
 * Wraps an opinion source so every post is scored at load: the sentiment columns, the scorer's
 * name and version are added before validation. The default scorer is the shop-adapted model where
 * `crm sentiment adapt` promoted one, else the shipped linear models, else the lexicon
 * (trained-scorer.ts). Parts go through the row path (no bulk plan), since
 * scoring happens in TypeScript.
 */
export function withScoredPosts(source: SourceDefinition, scorer: SentimentScorer = defaultScorer()): SourceDefinition {
  return {
    ...source,
    description: `${source.description}; sentiment scored at load (${scorer.name} ${scorer.version})`,
    async open(context) {
      const batch = await source.open(context);
      return {
        ...batch,
        parts: batch.parts.map((part) => ({ record: part.record, records: scoreRecords(part.records, source.name, scorer) })),
      };
    },
  };
}
