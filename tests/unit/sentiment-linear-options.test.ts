import { describe, expect, it } from 'vitest';
import { Featurizer, DEFAULT_SPECS } from '../../pipelines/extract/opinion/sentiment/linear/features.ts';
import { featurizeAll, logCountRatio, trainSoftmax } from '../../pipelines/extract/opinion/sentiment/linear/train.ts';

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
});
