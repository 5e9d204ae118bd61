import { seededRandom, type FeatureMatrix, type Trained } from './matrix.ts';

/**
 * A fastText-style model (Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification"):
 * every hashed n-gram bucket has an embedding of `dim` numbers, a text is the sum of its buckets'
 * embeddings times the featurizer's value (1/sqrt(count)), and a linear layer of K rows maps that
 * vector to the class logits. Trained by plain SGD with fastText's linearly decaying learning rate,
 * seeded (the same data and options give the same weights).
 *
 * With no non-linearity between the two layers the model is linear in the features: the logit of
 * class k is b_k + value * sum_i (E_i . W_k), so after training the embeddings are collapsed into
 * K rows of per-bucket weights (rank at most `dim`), the format and speed of the linear scorer. What
 * differs from the full linear model is the training: the factorised parameters couple the buckets
 * through the shared output layer (an implicit low-rank / nuclear-norm bias), which fastText's
 * authors and others report to generalise better across domains on sparse features.
 */
export interface LowRankOptions {
  classes: number;
  bits: number;
  dim: number;
  epochs: number;
  /** Starting learning rate, decaying linearly to 0 over all updates (fastText's schedule). */
  learningRate: number;
  seed: number;
  /** Per-row weight of the gradient (as in TrainOptions.rowWeights). */
  rowWeights?: Float32Array;
}

export function trainLowRank(m: FeatureMatrix, labels: Int32Array, rows: Int32Array, options: LowRankOptions): Trained {
  const K = options.classes;
  const d = options.dim;
  const buckets = 1 << options.bits;
  const random = seededRandom(options.seed);
  // fastText's initialisation: embeddings uniform in (-1/dim, 1/dim), output layer zero.
  const E = new Float32Array(buckets * d);
  for (let i = 0; i < E.length; i++) E[i] = (random() * 2 - 1) / d;
  const W = new Float32Array(K * d);
  const bias = new Float64Array(K);
  const h = new Float64Array(d);
  const gh = new Float64Array(d);
  const z = new Float64Array(K);
  const order = Int32Array.from(rows);
  const { offsets, indices, values } = m;
  const scale = m.scale;
  const total = Math.max(1, options.epochs * order.length);
  // Buckets no training text has keep their random start; their collapsed weight is set to 0.
  const seen = new Uint8Array(buckets);
  for (const row of rows) for (let f = offsets[row]!; f < offsets[row + 1]!; f++) seen[indices[f]!] = 1;
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (const row of order) {
      const lr = options.learningRate * (1 - step / total);
      step += 1;
      const from = offsets[row]!;
      const to = offsets[row + 1]!;
      const v = values[row]!;
      h.fill(0);
      for (let f = from; f < to; f++) {
        const b = indices[f]!;
        const s = scale ? scale[b]! : 1;
        if (s === 0) continue;
        const base = b * d;
        for (let c = 0; c < d; c++) h[c] = h[c]! + E[base + c]! * s;
      }
      for (let c = 0; c < d; c++) h[c] = h[c]! * v;
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let sum = bias[k]!;
        for (let c = 0; c < d; c++) sum += W[k * d + c]! * h[c]!;
        z[k] = sum;
        if (sum > max) max = sum;
      }
      let norm = 0;
      for (let k = 0; k < K; k++) norm += z[k] = Math.exp(z[k]! - max);
      const y = labels[row]!;
      const weight = options.rowWeights ? options.rowWeights[row]! : 1;
      gh.fill(0);
      for (let k = 0; k < K; k++) {
        const g = weight * (z[k]! / norm - (k === y ? 1 : 0));
        for (let c = 0; c < d; c++) {
          gh[c] = gh[c]! + g * W[k * d + c]!;
          W[k * d + c] = W[k * d + c]! - lr * g * h[c]!;
        }
        bias[k] = bias[k]! - lr * g;
      }
      for (let f = from; f < to; f++) {
        const b = indices[f]!;
        const s = scale ? scale[b]! : 1;
        if (s === 0) continue;
        const base = b * d;
        const factor = lr * v * s;
        for (let c = 0; c < d; c++) E[base + c] = E[base + c]! - factor * gh[c]!;
      }
    }
  }
  return collapse(E, W, bias, K, d, buckets, seen, scale);
}

/** The per-bucket weights of the trained factorisation: w_k[i] = scale_i * (E_i . W_k), 0 for unseen buckets. */
function collapse(
  E: Float32Array,
  W: Float32Array,
  bias: Float64Array,
  K: number,
  d: number,
  buckets: number,
  seen: Uint8Array,
  scale?: Float32Array,
): Trained {
  const weights = new Float32Array(K * buckets);
  for (let k = 0; k < K; k++)
    for (let i = 0; i < buckets; i++) {
      const s = scale ? scale[i]! : 1;
      if (s === 0 || seen[i] === 0) continue;
      let sum = 0;
      for (let c = 0; c < d; c++) sum += E[i * d + c]! * W[k * d + c]!;
      weights[k * buckets + i] = sum * s;
    }
  return { weights, bias };
}
