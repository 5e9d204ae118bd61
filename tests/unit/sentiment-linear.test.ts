import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { lexiconScorer } from '../../pipelines/extract/opinion/sentiment/default-scorer.ts';
import { adaptModel } from '../../pipelines/extract/opinion/sentiment/linear/adapt.ts';
import { contrastSplit, rewriteLitotes } from '../../pipelines/extract/opinion/sentiment/linear/features.ts';
import { readLabelledFile, type LabelledText } from '../../pipelines/extract/opinion/sentiment/linear/labelled-data.ts';
import { decodeModel, ModelFormatError, type LinearModel } from '../../pipelines/extract/opinion/sentiment/linear/linear-model.ts';
import { DEFAULT_RECIPES, evaluateScorer, figuresOf } from '../../pipelines/extract/opinion/sentiment/linear/train.ts';
import { rescorePosts } from '../../pipelines/extract/opinion/rescore-posts.ts';
import { cachedModel, resolveScorer, shippedModelPath } from '../../pipelines/extract/opinion/sentiment/trained-scorer.ts';
import { NEGATIVE_TEXT, POSITIVE_TEXT } from '../../pipelines/sources/sample-data/catalog.ts';
import { projectRoot } from '../../shared/paths.ts';
import { datasetFile } from '../support/datasets.ts';

/** The trained linear scorers: rule layer, shipped weights, held-out goal on real data, adapt, rescore, CLI. */
const zh = cachedModel(shippedModelPath('zh'))!;
const en = cachedModel(shippedModelPath('en'))!;
const label = (model: LinearModel, text: string) => model.predict(text).label;

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-sentiment-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

describe('linear sentiment scorers (shipped weights)', () => {
  it('ship with the repository, small, and load as the default scorer', () => {
    expect(zh.version).toMatch(/^linear-zh@[0-9a-f]{10}$/);
    expect(en.version).toMatch(/^linear-en@[0-9a-f]{10}$/);
    for (const lang of ['zh', 'en'] as const) expect(fs.statSync(shippedModelPath(lang)).size).toBeLessThan(3_000_000);
    const { scorer, fallback } = resolveScorer('linear');
    expect(fallback).toBeUndefined();
    expect(scorer.name).toBe('linear-zh-en');
    expect(scorer.version).toBe(`${zh.version}+${en.version}`);
  });

  it('rule layer: litotes are rewritten, contrast splits at the last contrast word', () => {
    expect(rewriteLitotes('不是不好', 'zh')).toBe('好');
    expect(rewriteLitotes('不难看', 'zh')).toBe('不错');
    expect(rewriteLitotes('没有任何问题', 'zh')).toBe('不错');
    expect(rewriteLitotes('不是很满意', 'zh')).toBe('不是很满意');
    expect(contrastSplit('好是好，就是太贵', 'zh')).toBe(3);
    expect(contrastSplit('质量就是好', 'zh')).toBe(-1);
    expect(contrastSplit('nice colour but too small', 'en')).toBe(12);
  });

  it.each([
    ['不是不好', 'positive'],
    ['不难看', 'positive'],
    ['没有任何问题', 'positive'],
    ['好是好，就是太贵', 'negative'],
    ['面料不错，但是起球', 'negative'],
    ['有点贵，不过质量很好', 'positive'],
    ['不好', 'negative'],
    ['不是很满意', 'negative'],
  ] as const)('zh negation and contrast: %s -> %s', (text, expected) => expect(label(zh, text)).toBe(expected));

  it.each([
    ['not bad at all', 'positive'],
    ["can't complain", 'positive'],
    ['not good', 'negative'],
    ["Don't waste your money", 'negative'],
    ['good', 'positive'],
  ] as const)('en negation and contrast: %s -> %s', (text, expected) => expect(label(en, text)).toBe(expected));

  it('contrast: what follows "but" / 但是 weighs more than what precedes it', () => {
    expect(en.predict('The screen is great but the battery died').score).toBeLessThan(en.predict('The screen is great').score - 0.3);
    expect(zh.predict('屏幕很好，但是电池不行').score).toBeLessThan(zh.predict('屏幕很好').score - 0.3);
  });

  it('labels every sentence the sample generator writes as the generator meant it', () => {
    for (const [lang, model] of [
      ['zh', zh],
      ['en', en],
    ] as const) {
      for (const text of POSITIVE_TEXT[lang]) expect(label(model, text), text).toBe('positive');
      for (const text of NEGATIVE_TEXT[lang]) expect(label(model, text), text).toBe('negative');
    }
  });

  it('scores stay in -1..1, probabilities sum to 1, the file round-trips and a damaged file is refused', () => {
    for (const text of ['好'.repeat(500), '垃圾'.repeat(500), '', '!!!']) {
      const p = zh.predict(text);
      expect(Math.abs(p.score)).toBeLessThanOrEqual(1);
      expect(p.probabilities.negative + p.probabilities.neutral + p.probabilities.positive).toBeCloseTo(1, 3);
    }
    const again = decodeModel(en.encode());
    expect(again.predict('great phone').score).toBe(en.predict('great phone').score);
    expect(() => decodeModel(en.encode().subarray(0, 1000))).toThrow(ModelFormatError);
    expect(() => decodeModel(Buffer.from('not a model'))).toThrow(ModelFormatError);
  });
});

const zhFile = datasetFile('reviews-zh/online_shopping_9_cats.csv');
const enFiles = ['amazon_cells', 'imdb', 'yelp'].map((s) => datasetFile(`reviews-en/${s}_labelled.txt`));

describe.skipIf(!zhFile)('shipped zh weights on the categories they never saw (reviews-zh, real data)', () => {
  const rows = zhFile ? readLabelledFile(zhFile).rows : [];
  it('beats the lexicon on every held-out category and keeps its measured figures', () => {
    const heldOut = DEFAULT_RECIPES.zh.heldOut;
    expect(zh.header.card.heldOut).toEqual(heldOut);
    const all: LabelledText[] = [];
    for (const group of heldOut) {
      const subset = rows.filter((r) => r.group === group);
      all.push(...subset);
      const ours = evaluateScorer({ score: (t) => zh.predict(t) }, subset, 'zh');
      const lexicon = evaluateScorer(lexiconScorer, subset, 'zh');
      expect(ours.accuracy, group).toBeGreaterThan(lexicon.accuracy);
    }
    // The goal (0.88) is met on phones (0.915); books (0.726) and Weibo posts about a milk brand
    // (0.763) stay below it (docs/sentiment.md). These floors, just under the measured figures
    // (pooled 0.789, neutral 2.3 %), catch a regression of the shipped weights or of the lexicon zone.
    const phones = evaluateScorer(
      { score: (t) => zh.predict(t) },
      rows.filter((r) => r.group === '手机'),
      'zh',
    );
    expect(phones.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(phones.neutralShare).toBeLessThan(0.03);
    const pooled = evaluateScorer({ score: (t) => zh.predict(t) }, all, 'zh');
    expect(pooled.accuracy).toBeGreaterThanOrEqual(0.78);
    expect(pooled.neutralShare).toBeLessThan(0.03);
    for (const [group, floor] of [
      ['书籍', 0.72],
      ['蒙牛', 0.75],
    ] as const)
      expect(
        evaluateScorer(
          { score: (t) => zh.predict(t) },
          rows.filter((r) => r.group === group),
          'zh',
        ).accuracy,
        group,
      ).toBeGreaterThanOrEqual(floor);
  });

  it("adapts to a shop's own rated reviews (books, which the shipped model never saw) and is promoted only because it beats it", () => {
    const books = rows.filter((r, i) => r.group === '书籍' && i % 2 === 0);
    const result = adaptModel(zh, books);
    // Measured: shipped 0.771, adapted 0.878 on the 385 held-out book reviews.
    expect(result.shipped.accuracy).toBeLessThan(0.8);
    expect(result.adapted.accuracy).toBeGreaterThan(result.shipped.accuracy + 0.08);
    expect(result.promoted).toBe(true);
    expect(result.model.header.classes).toEqual(['negative', 'neutral', 'positive']);
    // On the category it was trained on, the shipped model is hard to beat with little data: not promoted.
    const clothes = rows.filter((r) => r.group === '衣服').slice(4990, 5030);
    expect(adaptModel(zh, clothes).promoted).toBe(false);
  });
});

describe.skipIf(enFiles.some((f) => !f))('shipped en weights on the site they never saw (UCI sentences, real data)', () => {
  it('amazon: at least 0.82 accuracy, under 5 % neutral, above the lexicon', () => {
    const rows = readLabelledFile(enFiles[0]!).rows;
    expect(en.header.card.heldOut).toEqual(['amazon']);
    const ours = evaluateScorer({ score: (t) => en.predict(t) }, rows, 'en');
    const lexicon = evaluateScorer(lexiconScorer, rows, 'en');
    expect(ours.accuracy).toBeGreaterThanOrEqual(0.82);
    expect(ours.neutralShare).toBeLessThan(0.05);
    expect(ours.accuracy).toBeGreaterThan(lexicon.accuracy);
  });
});

describe('labelled files, figures, rescore and the CLI', () => {
  it('reads a TSV with a rating column (1-2 negative, 3 neutral, 4-5 positive) and skips bad rows with a reason', () => {
    const file = path.join(temp, 'shop.tsv');
    fs.writeFileSync(file, 'text\trating\n质量很好\t5\n一般般吧\t3\n太差了\t1\n\t4\n还行\t9\n');
    const read = readLabelledFile(file, { preferRating: true });
    expect(read.rows.map((r) => r.label)).toEqual(['positive', 'neutral', 'negative']);
    expect(read.skipped).toEqual([
      { line: 5, reason: 'empty text' },
      { line: 6, reason: 'rating not 1-5' },
    ]);
  });

  it('figures: accuracy, macro-F1 over the true classes, neutral share and the confusion matrix', () => {
    const f = figuresOf(['positive', 'positive', 'negative', 'negative'], ['positive', 'neutral', 'negative', 'positive']);
    expect(f.accuracy).toBe(0.5);
    expect(f.neutralShare).toBe(0.25);
    expect(f.confusion).toEqual([
      [1, 0, 1],
      [0, 0, 0],
      [0, 1, 1],
    ]);
    expect(f.macroF1).toBeCloseTo(0.5833, 3);
  });

  it('rescore updates our own rows to the current version, keeps platform scores, and a second pass changes nothing', async () => {
    const instance = await DuckDBInstance.create(path.join(temp, 'w.duckdb'));
    const connection = await instance.connect();
    try {
      await connection.run(`create schema raw; create table raw.opinion_posts (post_id varchar, text varchar, lang varchar,
        sentiment_score double, sentiment_label varchar, scorer varchar, scorer_version varchar)`);
      await connection.run(`insert into raw.opinion_posts values
        ('a', '没有任何问题', 'zh', -0.6, 'negative', 'lexicon-zh-en', 'x'),
        ('b', 'not bad at all', 'en', 0.4, 'positive', 'lexicon-zh-en', 'x'),
        ('c', 'meh', 'en', 0.9, 'positive', 'platform-x', '1')`);
      const { scorer } = resolveScorer('linear');
      const first = await rescorePosts(connection, scorer);
      expect(first).toMatchObject({ posts: 3, rescored: 2, keptPlatformScores: 1, scorer: 'linear-zh-en' });
      const rows = (
        await connection.runAndReadAll('select post_id, sentiment_label, scorer, scorer_version from raw.opinion_posts order by 1')
      ).getRows();
      expect(rows).toEqual([
        ['a', 'positive', 'linear-zh-en', scorer.version],
        ['b', 'positive', 'linear-zh-en', scorer.version],
        ['c', 'positive', 'platform-x', '1'],
      ]);
      expect(await rescorePosts(connection, scorer)).toMatchObject({ rescored: 0, unchanged: 2 });
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('crm sentiment score prints one JSON line per input line; eval prints figures; bad input exits 2', () => {
    const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
    const score = spawnSync(tsx, ['cli/crm.ts', 'sentiment', 'score', '--scorer', 'linear'], {
      cwd: projectRoot,
      input: '质量很好，非常满意\nnot bad at all\n',
      encoding: 'utf8',
    });
    expect(score.status, score.stderr).toBe(0);
    const lines = score.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ label: 'positive', lang: 'zh', scorer: 'linear-zh-en' });
    expect(lines[1]).toMatchObject({ label: 'positive', lang: 'en' });
    expect(Object.keys(lines[0]!.probabilities as object).sort()).toEqual(['negative', 'neutral', 'positive']);

    const file = path.join(temp, 'eval.csv');
    fs.writeFileSync(file, 'text,label\n质量很好,1\n太差了,0\ngreat,1\n');
    const evaluated = spawnSync(tsx, ['cli/crm.ts', 'sentiment', 'eval', '--data', file, '--json'], { cwd: projectRoot, encoding: 'utf8' });
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const report = JSON.parse(evaluated.stdout) as { overall: { scorer: { texts: number; accuracy: number } } };
    expect(report.overall.scorer).toMatchObject({ texts: 3, accuracy: 1 });

    const missing = spawnSync(tsx, ['cli/crm.ts', 'sentiment', 'eval', '--data', path.join(temp, 'nope.csv')], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('data file not found');
  });
});
