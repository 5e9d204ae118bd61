import { describe, expect, it } from 'vitest';
import { Featurizer, DEFAULT_SPECS } from '../../pipelines/extract/opinion/sentiment/linear/features.ts';
import { featurizeAll, fitPlatt2, logCountRatio, trainSoftmax } from '../../pipelines/extract/opinion/sentiment/linear/train.ts';
import { LinearModel } from '../../pipelines/extract/opinion/sentiment/linear/linear-model.ts';
import { lexiconScorer } from '../../pipelines/extract/opinion/sentiment/default-scorer.ts';
import { shippedModelPath, cachedModel } from '../../pipelines/extract/opinion/sentiment/trained-scorer.ts';

// The recipe options measured for issue 27's Chinese goal and kept off by default (docs/sentiment.md).
const POS = ['质量很好，很满意', '不错，物流快', '好评，推荐购买', '非常满意，好用'];
const NEG = ['太差了，失望', '质量差，退货', '很失望，不推荐', '差评，坏了'];

describe('linear recipe options: NB log-count ratio, zh lexicon features', () => {
  it('the NB ratio is positive for buckets of positive texts, negative for negative ones, and folds into the weights', () => {
    const spec = { ...DEFAULT_SPECS.zh, bits: 12 };
    const texts = [...POS, ...NEG];
    const m = featurizeAll(texts, spec);
    const labels = Int32Array.from(texts.map((_, i) => (i < POS.length ? 1 : 0)));
    const rows = Int32Array.from(texts.map((_, i) => i));
    const r = logCountRatio(m, labels, rows, spec.bits, 1);
    const bucketOf = (text: string) => {
      const f = new Featurizer(spec);
      f.featurize(text);
      return f.indices.slice(0, f.count);
    };
    const mean = (b: Int32Array) => b.reduce((s, i) => s + r[i]!, 0) / b.length;
    expect(mean(bucketOf('很满意'))).toBeGreaterThan(0);
    expect(mean(bucketOf('失望'))).toBeLessThan(0);
    const options = { classes: 2, bits: spec.bits, epochs: 20, learningRate: 0.2, l2: 1e-6, seed: 1 };
    const nb = trainSoftmax(m, labels, rows, { ...options, nbAlpha: 1 });
    // Folded weights score without the ratio: every training text on its side.
    const dim = 1 << spec.bits;
    texts.forEach((t, i) => {
      const f = new Featurizer(spec);
      const v = f.featurize(t);
      let d = nb.bias[1]! - nb.bias[0]!;
      for (let j = 0; j < f.count; j++) d += (nb.weights[dim + f.indices[j]!]! - nb.weights[f.indices[j]!]!) * v;
      expect(d > 0, t).toBe(labels[i] === 1);
    });
  });

  it('zh lexicon features: a lexicon word emits a shared polarity feature, negated after a negator', () => {
    const plain = new Featurizer({ ...DEFAULT_SPECS.zh, bits: 16 });
    const withLexicon = new Featurizer({ ...DEFAULT_SPECS.zh, bits: 16, lexicon: true });
    const count = (f: Featurizer, t: string) => (f.featurize(t), f.count);
    expect(count(withLexicon, '很满意') - count(plain, '很满意')).toBe(1);
    expect(count(withLexicon, '今天下午收到') - count(plain, '今天下午收到')).toBe(0);
    const bucketsOf = (t: string) => {
      withLexicon.featurize(t);
      return new Set(withLexicon.indices.slice(0, withLexicon.count));
    };
    // 满意 and 喜欢 share their polarity feature; 不满意 carries the negated one instead.
    const shared = [...bucketsOf('满意')].filter((b) => bucketsOf('喜欢').has(b));
    expect(shared.length).toBeGreaterThan(0);
    expect(bucketsOf('不满意').has(shared[0]!)).toBe(false);
  });

  it('lexicon zone: where the model is unsure the lexicon answers, unless it is neutral itself', () => {
    const shipped = cachedModel(shippedModelPath('zh'))!;
    expect(shipped.header.lexiconZone).toBe(0.2);
    const always = new LinearModel({ ...shipped.header, lexiconZone: 0.5 }, shipped.weights);
    const never = new LinearModel({ ...shipped.header, lexiconZone: 0 }, shipped.weights);
    const text = '包装一般，但是东西很满意';
    const lexicon = lexiconScorer.score(text, 'zh');
    expect(lexicon.label).toBe('positive');
    expect(always.predict(text).score).toBe(lexicon.score);
    expect(never.predict(text).score).not.toBe(lexicon.score);
    // A text the lexicon leaves neutral keeps the model's answer.
    const plain = '今天下午收到快递了';
    expect(lexiconScorer.score(plain, 'zh').label).toBe('neutral');
    expect(always.predict(plain)).toEqual(never.predict(plain));
  });

  it('stacked calibration: fitPlatt2 recovers the weight of a second input', () => {
    const d: number[] = [];
    const s: number[] = [];
    const y: number[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 4000; i++) {
      const di = random() * 6 - 3;
      const si = random() * 2 - 1;
      d.push(di);
      s.push(si);
      y.push(random() < 1 / (1 + Math.exp(-(0.8 * di + 2 * si + 0.3))) ? 1 : 0);
    }
    const fit = fitPlatt2(d, s, y);
    expect(fit.a).toBeCloseTo(0.8, 0);
    expect(fit.lexicon).toBeGreaterThan(1.5);
    expect(fit.lexicon).toBeLessThan(2.5);
  });
});
