/**
 * The family of repeat-purchase models a shop's CLV can use, by name: how each is fitted and what
 * it predicts. Each run can fit them all and keep the one the holdout backtest favours
 * (backtest.ts); a shop pins one with `clv.model` in the config.
 */
import { expectedPurchases, fitRepeatModel, medianDaysToNextPurchase, probabilityAlive } from './bgnbd.ts';
import { mbgExpectedPurchases, mbgMedianDaysToNextPurchase, mbgProbabilityAlive } from './mbgnbd.ts';
import {
  fitParetoNbd,
  paretoExpectedPurchases,
  paretoMedianDaysToNextPurchase,
  paretoProbabilityAlive,
  paretoProbabilityPurchaseWithin,
} from './paretonbd.ts';
import { isParetoParams, type BgNbdParams, type ParetoNbdParams, type RepeatParams, type RfmPoint } from './model-types.ts';
import type { BetaGeometricKind } from './repeat-likelihood.ts';

export type RepeatModelKind = BetaGeometricKind | 'paretonbd';

/** A fitted repeat-purchase model: its parameters (BgNbdParams or ParetoNbdParams) and how the fit went. */
export interface RepeatFit {
  params: RepeatParams;
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  customers: number;
}

export interface RepeatModel {
  name: RepeatModelKind;
  title: string;
  fit(data: readonly RfmPoint[]): RepeatFit;
  probabilityAlive(params: RepeatParams, point: RfmPoint): number;
  expectedPurchases(params: RepeatParams, point: RfmPoint, days: number): number;
  /** P(at least one purchase within `days` after T): what churn risk is 1 minus. */
  probabilityPurchaseWithin(params: RepeatParams, point: RfmPoint, days: number): number;
  medianDaysToNextPurchase(params: RepeatParams, point: RfmPoint): number | null;
}

// A model's functions get the parameters of their own kind; anything else is a programming error.
const asBetaGeometric = (params: RepeatParams): BgNbdParams => {
  if (isParetoParams(params)) throw new TypeError('a BG/NBD or MBG/NBD prediction got Pareto/NBD parameters');
  return params;
};
const asPareto = (params: RepeatParams): ParetoNbdParams => {
  if (!isParetoParams(params)) throw new TypeError('a Pareto/NBD prediction got BG/NBD parameters');
  return params;
};

/**
 * BG/NBD and MBG/NBD alike: a customer alive at T buys again for sure (they drop out only at a
 * purchase), with λ | data ~ Gamma(r+x, α+T), so P = P(alive) · [1 − ((α+T)/(α+T+days))^(r+x)].
 */
export function betaGeometricPurchaseWithin(
  params: { r: number; alpha: number },
  c: { frequency: number; tenureDays: number },
  alive: number,
  days: number,
): number {
  return alive * (1 - Math.pow((params.alpha + c.tenureDays) / (params.alpha + c.tenureDays + days), params.r + c.frequency));
}

export const REPEAT_MODELS: Readonly<Record<RepeatModelKind, RepeatModel>> = {
  bgnbd: {
    name: 'bgnbd',
    title: 'BG/NBD (Fader, Hardie & Lee 2005)',
    fit: (data) => fitRepeatModel('bgnbd', data),
    probabilityAlive: (p, c) => probabilityAlive(asBetaGeometric(p), c),
    expectedPurchases: (p, c, days) => expectedPurchases(asBetaGeometric(p), c, days),
    probabilityPurchaseWithin: (p, c, days) => betaGeometricPurchaseWithin(p, c, probabilityAlive(asBetaGeometric(p), c), days),
    medianDaysToNextPurchase: (p, c) => medianDaysToNextPurchase(asBetaGeometric(p), c),
  },
  mbgnbd: {
    name: 'mbgnbd',
    title: 'MBG/NBD (Batislam, Denizel & Filiztekin 2007)',
    fit: (data) => fitRepeatModel('mbgnbd', data),
    probabilityAlive: (p, c) => mbgProbabilityAlive(asBetaGeometric(p), c),
    expectedPurchases: (p, c, days) => mbgExpectedPurchases(asBetaGeometric(p), c, days),
    probabilityPurchaseWithin: (p, c, days) => betaGeometricPurchaseWithin(p, c, mbgProbabilityAlive(asBetaGeometric(p), c), days),
    medianDaysToNextPurchase: (p, c) => mbgMedianDaysToNextPurchase(asBetaGeometric(p), c),
  },
  paretonbd: {
    name: 'paretonbd',
    title: 'Pareto/NBD (Schmittlein, Morrison & Colombo 1987)',
    fit: (data) => fitParetoNbd(data),
    probabilityAlive: (p, c) => paretoProbabilityAlive(asPareto(p), c),
    expectedPurchases: (p, c, days) => paretoExpectedPurchases(asPareto(p), c, days),
    probabilityPurchaseWithin: (p, c, days) => paretoProbabilityPurchaseWithin(asPareto(p), c, days),
    medianDaysToNextPurchase: (p, c) => paretoMedianDaysToNextPurchase(asPareto(p), c),
  },
};

export const REPEAT_MODEL_NAMES = Object.keys(REPEAT_MODELS) as RepeatModelKind[];
