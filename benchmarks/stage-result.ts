/** What every benchmark stage reports: its figures, its baseline, the ratio, and the goal. */
export interface StageResult {
  stage: string;
  title: string;
  /** The goal in words, e.g. "at least 0.5 of DuckDB's rows/s". */
  goal: string;
  /** true/false when the goal could be judged at this scale; null when it only applies elsewhere. */
  met: boolean | null;
  /** Rows of the report table: a measured figure beside its baseline and their ratio. */
  rows: { label: string; value: number; unit: string; baseline?: number; ratio?: number }[];
  notes: string[];
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
