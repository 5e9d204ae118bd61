import { describe, expect, it } from 'vitest';
import { clvFitStage } from '../../benchmarks/stages/clv-fit-stage.ts';
import { SCALES } from '../../benchmarks/scales.ts';

// The bench's CLV fit figure at the smoke scale (20,000 simulated customers, Nelder-Mead baseline on
// 5,000), through the worker process `npm run bench -- --stages clv-fit` uses.
describe('bench stage clv-fit', () => {
  it('times every model of the family beside the previous Nelder-Mead fitter, and judges the goal only at 1 million customers', async () => {
    const lines: string[] = [];
    const stage = await clvFitStage(SCALES.smoke!, (line) => lines.push(line));
    expect(stage.stage).toBe('clv-fit');
    expect(stage.met).toBeNull();
    expect(stage.rows.map((r) => r.label.split(':')[0])).toEqual(['bgnbd', 'mbgnbd', 'paretonbd', 'bgnbd at 5,000 customers']);
    for (const row of stage.rows) {
      expect(row.value).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.value / row.baseline!, 1);
    }
    // BFGS with analytic gradients beats derivative-free Nelder-Mead on the same sample.
    const versus = stage.rows[3]!;
    expect(versus.ratio!).toBeLessThan(0.5);
    expect(stage.notes.join(' ')).toMatch(/20,000 customers in [\d,]+ distinct/);
    expect(lines).toEqual(['fitting the CLV models on 20,000 simulated customers ...']);
  }, 120_000);
});
