/** Fits both models on a calibration summary: BG/NBD for purchases, Gamma-Gamma for spend. */
import { fitBgNbd, type BgNbdFit } from './bgnbd.ts';
import { fitGammaGamma, type GammaGammaFit } from './gamma-gamma.ts';
import type { CustomerSummary } from './summary-data.ts';

export const CLV_MODEL_NAME = 'bgnbd_gamma_gamma';
export const CLV_MODEL_VERSION = '1';

export interface ClvFit {
  purchases: BgNbdFit;
  spend: GammaGammaFit;
}

export function fitClv(summary: readonly CustomerSummary[]): ClvFit {
  return { purchases: fitBgNbd(summary), spend: fitGammaGamma(summary) };
}
