/** Fits a repeat-purchase model (BG/NBD, MBG/NBD or Pareto/NBD) for purchases and Gamma-Gamma for spend on a calibration summary. */
import { fitGammaGamma, type GammaGammaFit } from './gamma-gamma.ts';
import { REPEAT_MODELS, type RepeatFit, type RepeatModelKind } from './repeat-models.ts';
import type { CustomerSummary } from './summary-data.ts';

/** The model's name in ml.clv_model_fits and ml.customer_predictions: the purchase model, then the spend model. */
export const clvModelName = (model: RepeatModelKind) => `${model}_gamma_gamma`;
export const CLV_MODEL_NAME = clvModelName('bgnbd');
export const CLV_MODEL_VERSION = '1';

export interface ClvFit {
  /** Which repeat-purchase model `purchases` holds (a fit stored before the family existed is BG/NBD). */
  model: RepeatModelKind;
  purchases: RepeatFit;
  spend: GammaGammaFit;
}

export function fitClv(summary: readonly CustomerSummary[], model: RepeatModelKind = 'bgnbd'): ClvFit {
  return { model, purchases: REPEAT_MODELS[model].fit(summary), spend: fitGammaGamma(summary) };
}
