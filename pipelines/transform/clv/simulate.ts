/**
 * Draws customers from the BG/NBD and Gamma-Gamma processes themselves, with known parameters,
 * for parameter-recovery tests and for a backtest whose truth is known. Seeded (mulberry32).
 */
import type { BgNbdParams } from './bgnbd.ts';
import type { GammaGammaParams } from './gamma-gamma.ts';
import type { Transaction } from './summary-data.ts';
import { DAY_MS } from './summary-data.ts';

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, scale = 1) by Marsaglia & Tsang (2000); shape < 1 via the boost U^(1/shape). */
export function gammaSample(rand: () => number, shape: number): number {
  if (shape < 1) return gammaSample(rand, shape + 1) * Math.pow(1 - rand(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(rand);
    const v = Math.pow(1 + c * x, 3);
    if (v <= 0) continue;
    const u = 1 - rand();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** One customer's purchase times (in days from their first purchase at 0) up to `until` days. */
export function simulateBgNbdCustomer(rand: () => number, params: BgNbdParams, until: number): number[] {
  const lambda = gammaSample(rand, params.r) / params.alpha;
  const ga = gammaSample(rand, params.a);
  const p = ga / (ga + gammaSample(rand, params.b));
  const times = [0];
  let t = 0;
  // Alive at the first purchase (time 0); drop-out can only follow a REPEAT purchase (FHL 2005).
  for (;;) {
    t += -Math.log(1 - rand()) / lambda;
    if (t > until) return times;
    times.push(t);
    if (rand() < p) return times;
  }
}

/**
 * Transactions for `customers` customers whose first purchases are spread uniformly over
 * `acquisitionDays` from `startMs`, observed until startMs + totalDays. Values follow Gamma-Gamma.
 */
export function simulateTransactions(options: {
  seed: number;
  customers: number;
  bgnbd: BgNbdParams;
  spend: GammaGammaParams;
  startMs: number;
  acquisitionDays: number;
  totalDays: number;
}): Transaction[] {
  const rand = seededRandom(options.seed);
  const out: Transaction[] = [];
  for (let i = 0; i < options.customers; i++) {
    const first = Math.floor(rand() * options.acquisitionDays);
    const nu = gammaSample(rand, options.spend.q) / options.spend.gamma;
    const customerKey = `S${String(i + 1).padStart(6, '0')}`;
    for (const day of simulateBgNbdCustomer(rand, options.bgnbd, options.totalDays - first)) {
      out.push({
        customerKey,
        at: options.startMs + (first + day) * DAY_MS,
        value: Math.round((gammaSample(rand, options.spend.p) / nu) * 100) / 100,
      });
    }
  }
  return out;
}
