/** What the trainers share: the sparse feature matrix, trained weights, the seeded shuffle. */
export interface FeatureMatrix {
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  /** Optional per-bucket multiplier of the feature values (NB scaling; the flip filter's 0/1 mask). */
  scale?: Float32Array;
}

export interface Trained {
  weights: Float32Array;
  bias: Float64Array;
}

/** mulberry32: a small seeded generator, enough for shuffling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
