import type { Faker } from '@faker-js/faker';
import { LineWriter } from './line-writer.ts';
import { formatShopTimestamp } from './formats.ts';
import fs from 'node:fs';
import readline from 'node:readline';
import { planContactChange, type CustomerPlan } from './people.ts';
import type { SeededRandom } from './random.ts';
import type { GroundTruth } from './landing-layout.ts';

/**
 * Customer profiles as the shop CRM exports them (NDJSON): basic facet, subjective facet,
 * membership and consent. Profiles whose contact details changed get a second, later version
 * appended at the end of the export (as a later incremental export would carry it).
 */
export async function writeProfiles(
  filePath: string,
  plans: CustomerPlan[],
  rng: SeededRandom,
  fakerZh: Faker,
  fakerEn: Faker,
  malformedRate: number,
  endMs: number,
  truth: GroundTruth,
): Promise<void> {
  const out = new LineWriter(filePath);
  // Later versions go to a scratch file appended at the end, so no profile is held in memory.
  const laterPath = `${filePath}.later.tmp`;
  const later = new LineWriter(laterPath);
  for (const plan of plans) {
    const marketingConsent = rng.chance(0.7);
    const consent = () => (marketingConsent ? rng.chance(0.7) : false);
    const record: Record<string, unknown> = {
      customer_id: plan.id,
      full_name: plan.name,
      email: plan.email,
      phone: plan.phone,
      mobile: plan.locale === 'zh' && rng.chance(0.5) ? plan.phoneDigits : null,
      wechat_id: plan.wechatId,
      qq_id: plan.qqId,
      company: plan.company,
      job_title: plan.jobTitle,
      industry: plan.industry,
      income_band: rng.chance(0.6)
        ? rng.weighted([
            ['under_5k', 20],
            ['5k_10k', 35],
            ['10k_20k', 25],
            ['20k_50k', 15],
            ['over_50k', 5],
          ] as const)
        : null,
      city: plan.city,
      lang: plan.locale,
      signup_at: formatShopTimestamp(plan.signupMs),
      preferred_categories: plan.preferredCategories.join('|'),
      style_preference: rng.pick(['classic', 'minimalist', 'streetwear', 'business', 'romantic', 'sporty'] as const),
      price_sensitivity: rng.weighted([
        ['low', 25],
        ['medium', 50],
        ['high', 25],
      ] as const),
      brand_affinity: plan.brandAffinity,
      membership_tier: rng.weighted([
        ['bronze', 50],
        ['silver', 30],
        ['gold', 15],
        ['platinum', 5],
      ] as const),
      points_balance: Math.floor(rng.exponential(2_000)),
      privacy_tolerance: rng.weighted([
        ['low', 30],
        ['medium', 50],
        ['high', 20],
      ] as const),
      contact_frequency_tolerance: rng.weighted([
        ['never', 10],
        ['monthly', 50],
        ['weekly', 35],
        ['daily', 5],
      ] as const),
      marketing_consent: marketingConsent,
      consent_email: consent(),
      consent_sms: consent(),
      consent_wechat: plan.wechatId ? consent() : false,
      consent_phone: consent(),
      updated_at: formatShopTimestamp(plan.signupMs),
    };
    if (rng.chance(malformedRate)) {
      // A profile with an impossible e-mail address: quarantined, never half-loaded.
      record.email = `${plan.handle}-at-nowhere`;
      plan.malformed = true;
      truth.malformed.customers.push(plan.id);
    }
    await out.write(JSON.stringify(record));
    truth.counts.customers += 1;
    truth.counts.customerVersions += 1;
    if (plan.malformed) continue;
    planContactChange(plan, rng, fakerZh, fakerEn, endMs);
    if (!plan.change) continue;
    if (plan.change.phone) {
      record.phone = plan.change.phone;
      record.mobile = record.mobile === null ? null : plan.change.phoneDigits;
    }
    if (plan.change.email) record.email = plan.change.email;
    record.updated_at = formatShopTimestamp(plan.change.atMs);
    await later.write(JSON.stringify(record));
    truth.counts.customerVersions += 1;
  }
  await later.close();
  for await (const line of readline.createInterface({ input: fs.createReadStream(laterPath, 'utf8'), crlfDelay: Infinity }))
    await out.write(line);
  fs.rmSync(laterPath);
  await out.close();
}
