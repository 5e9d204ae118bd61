import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../../shared/paths.ts';

/**
 * dbt_project.yml's vars, read where TypeScript must use the same figure as a model (the churn band
 * thresholds of customer_value, say), so it is written once, in the dbt project.
 */
export function dbtProjectVars(file = path.join(projectRoot, 'dbt_project.yml')): Record<string, unknown> {
  const project = parseYaml(fs.readFileSync(file, 'utf8')) as { vars?: Record<string, unknown> } | null;
  return project?.vars ?? {};
}

/** customer_value.churn_risk_band's thresholds on P(a purchase in the next 90 days). */
export interface ChurnBandThresholds {
  highBelow: number;
  mediumBelow: number;
}

export function churnBandThresholds(vars: Record<string, unknown> = dbtProjectVars()): ChurnBandThresholds {
  const number = (name: string) => {
    const value = Number(vars[name]);
    if (!Number.isFinite(value)) throw new Error(`dbt_project.yml: var ${name} is not a number: ${String(vars[name])}`);
    return value;
  };
  return {
    highBelow: number('churn_high_below_purchase_probability'),
    mediumBelow: number('churn_medium_below_purchase_probability'),
  };
}
