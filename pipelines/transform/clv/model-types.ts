/** Parameters of the beta-geometric repeat-purchase models (BG/NBD, MBG/NBD): Gamma(r, α) rates, Beta(a, b) drop-out. */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** A customer's sufficient statistics: repeat purchases x, time of the last t_x and tenure T (days). */
export interface RfmPoint {
  frequency: number;
  recencyDays: number;
  tenureDays: number;
}

/** Parameters of Pareto/NBD: Gamma(r, α) purchase rates λ and Gamma(s, β) drop-out rates μ (days). */
export interface ParetoNbdParams {
  r: number;
  alpha: number;
  s: number;
  beta: number;
}

/** Either family's parameters; `s` in it says Pareto/NBD. */
export type RepeatParams = BgNbdParams | ParetoNbdParams;

export const isParetoParams = (params: RepeatParams): params is ParetoNbdParams => 's' in params;
