/**
 * The family of repeat-purchase models a shop's CLV can use, by name: how each is fitted and what
 * it predicts. Each run can fit them all and keep the one the holdout backtest favours
 * (backtest.ts); a shop pins one with `clv.model` in the config.
 */
import { expectedPurchases, fitRepeatModel, medianDaysToNextPurchase, probabilityAlive, type BgNbdFit } from './bgnbd.ts';
import { mbgExpectedPurchases, mbgMedianDaysToNextPurchase, mbgProbabilityAlive } from './mbgnbd.ts';
import type { BgNbdParams, RfmPoint } from './model-types.ts';
import type { RepeatModelKind } from './repeat-likelihood.ts';

export type { RepeatModelKind } from './repeat-likelihood.ts';

export interface RepeatModel {
  name: RepeatModelKind;
  title: string;
  fit(data: readonly RfmPoint[]): BgNbdFit;
  probabilityAlive(params: BgNbdParams, point: RfmPoint): number;
  expectedPurchases(params: BgNbdParams, point: RfmPoint, days: number): number;
  medianDaysToNextPurchase(params: BgNbdParams, point: RfmPoint): number | null;
}

export const REPEAT_MODELS: Readonly<Record<RepeatModelKind, RepeatModel>> = {
  bgnbd: {
    name: 'bgnbd',
    title: 'BG/NBD (Fader, Hardie & Lee 2005)',
    fit: (data) => fitRepeatModel('bgnbd', data),
    probabilityAlive,
    expectedPurchases,
    medianDaysToNextPurchase,
  },
  mbgnbd: {
    name: 'mbgnbd',
    title: 'MBG/NBD (Batislam, Denizel & Filiztekin 2007)',
    fit: (data) => fitRepeatModel('mbgnbd', data),
    probabilityAlive: mbgProbabilityAlive,
    expectedPurchases: mbgExpectedPurchases,
    medianDaysToNextPurchase: mbgMedianDaysToNextPurchase,
  },
};

export const REPEAT_MODEL_NAMES = Object.keys(REPEAT_MODELS) as RepeatModelKind[];
