import type { DuckDBConnection } from '@duckdb/node-api';
import { lexiconScorer } from './sentiment/default-scorer.ts';
import { TRAINED_SCORER_NAME } from './sentiment/trained-scorer.ts';
import { languageOf, type SentimentScorer } from './sentiment/sentiment-scorer.ts';

/**
 * Re-scores the stored posts of raw.opinion_posts with `scorer`: every row whose scorer is one of
 * ours (the lexicon or the trained scorer) and whose scorer or version differs from the current one
 * gets the new score, label, scorer and version. Rows scored by the platform itself (another scorer
 * name) keep their score; rows already at the current version are left alone, so a second run
 * changes nothing. Runs against the run's build copy (see the rescore step).
 */
export const OWN_SCORERS = [lexiconScorer.name, TRAINED_SCORER_NAME];

export interface RescoreResult {
  posts: number;
  rescored: number;
  unchanged: number;
  keptPlatformScores: number;
  scorer: string;
  version: string;
}

export async function rescorePosts(connection: DuckDBConnection, scorer: SentimentScorer): Promise<RescoreResult> {
  const exists = await connection.runAndReadAll(
    "select count(*) from information_schema.tables where table_catalog = current_database() and table_schema = 'raw' and table_name = 'opinion_posts'",
  );
  const base = { scorer: scorer.name, version: scorer.version };
  if (Number(exists.getRows()[0]![0]) === 0) return { posts: 0, rescored: 0, unchanged: 0, keptPlatformScores: 0, ...base };
  const own = OWN_SCORERS.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ');
  const counts = await connection.runAndReadAll(
    `select count(*)::INT, count(*) filter (where scorer is not null and scorer not in (${own}))::INT from raw.opinion_posts`,
  );
  const [posts, platform] = counts.getRows()[0]! as [number, number];
  const reader = await connection.runAndReadAll(
    `select post_id, text, lang from raw.opinion_posts
     where (scorer is null or scorer in (${own})) and (scorer is distinct from $scorer or scorer_version is distinct from $version)
       and text is not null and trim(text) <> ''`,
    { scorer: scorer.name, version: scorer.version },
  );
  const rows = reader.getRows() as [string, string, string | null][];
  if (rows.length > 0) {
    await connection.run('create temp table rescored (post_id varchar, sentiment_score double, sentiment_label varchar)');
    const appender = await connection.createAppender('rescored', 'main', 'temp');
    for (const [postId, text, lang] of rows) {
      const result = scorer.score(text, languageOf(text, lang));
      appender.appendVarchar(postId);
      appender.appendDouble(result.score);
      appender.appendVarchar(result.label);
      appender.endRow();
    }
    appender.closeSync();
    await connection.run(
      `update raw.opinion_posts as p set sentiment_score = r.sentiment_score, sentiment_label = r.sentiment_label,
         scorer = $scorer, scorer_version = $version
       from rescored r where p.post_id = r.post_id`,
      { scorer: scorer.name, version: scorer.version },
    );
    await connection.run('drop table rescored');
  }
  return { posts, rescored: rows.length, unchanged: posts - platform - rows.length, keptPlatformScores: platform, ...base };
}
