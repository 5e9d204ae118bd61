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
