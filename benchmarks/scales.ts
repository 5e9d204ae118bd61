/**
 * Benchmark scales: how many orders and customers each named scale generates. The generator's
 * memory follows customers, so customers grow at a tenth of orders.
 */
export interface BenchScale {
  name: string;
  orders: number;
  customers: number;
}

export const SCALES: Record<string, BenchScale> = {
  // 'smoke' exists so the harness itself can be tested in seconds; its figures mean little.
  smoke: { name: 'smoke', orders: 5_000, customers: 500 },
  '100k': { name: '100k', orders: 100_000, customers: 10_000 },
  '1m': { name: '1m', orders: 1_000_000, customers: 100_000 },
  '10m': { name: '10m', orders: 10_000_000, customers: 1_000_000 },
};

export function scaleByName(name: string): BenchScale {
  const scale = SCALES[name];
  if (!scale) throw new Error(`unknown scale '${name}': use one of ${Object.keys(SCALES).join(', ')}`);
  return scale;
}
