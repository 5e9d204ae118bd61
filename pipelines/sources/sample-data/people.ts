import type { Faker } from '@faker-js/faker';
import { BRANDS, PRODUCTS } from './catalog.ts';
import type { SeededRandom } from './random.ts';

/**
 * The sample shop's people: true persons and the customer accounts they hold. Most persons hold
 * one account; a few hold two (signed up again with another e-mail), some change their phone or
 * e-mail over time, and some now and then order under a friend's account. The generator records
 * all of it as ground truth for identity-resolution tests.
 */

const DAY_MS = 86_400_000;

export const CATEGORIES = [...new Set(PRODUCTS.map((p) => p.category))];
const INDUSTRIES = ['retail', 'finance', 'education', 'manufacturing', 'internet', 'healthcare', 'government', 'media'] as const;
const TITLES_ZH = ['经理', '工程师', '教师', '设计师', '销售主管', '会计', '学生', '自由职业'] as const;
const TITLES_EN = ['Manager', 'Engineer', 'Teacher', 'Designer', 'Sales Lead', 'Accountant', 'Student', 'Freelancer'] as const;

export interface ContactChange {
  atMs: number;
  phone: string | null;
  phoneDigits: string | null;
  email: string | null;
}

export interface CustomerPlan {
  /** Customer (account) id. */
  id: string;
  /** True person behind the account (H...). */
  personId: string;
  locale: 'zh' | 'en';
  name: string;
  /** As the shop stored it (formats vary). */
  phone: string;
  /** National digits, the normalised form the truth file uses. */
  phoneDigits: string;
  email: string;
  wechatId: string | null;
  qqId: string | null;
  city: string;
  address: string;
  company: string | null;
  jobTitle: string | null;
  industry: string | null;
  signupMs: number;
  activeUntilMs: number;
  orderCount: number;
  handle: string;
  preferredCategories: string[];
  brandAffinity: string;
  /** The account was written with a malformed profile (quarantined). */
  malformed: boolean;
  /** A later version of the profile with a new phone and/or e-mail. */
  change: ContactChange | null;
  /** The account's last few orders (at most 4, oldest first), noted by the orders writer so tickets can refer to them. */
  recentOrders?: { id: string; orderedMs: number }[];
}

/** Phone at a moment: a changed number is used from the change on. */
export function phoneAt(plan: CustomerPlan, ms: number): string {
  return plan.change?.phone && ms >= plan.change.atMs ? plan.change.phone : plan.phone;
}

function chineseMobileDigits(rng: SeededRandom): string {
  return `1${rng.pick(['38', '39', '58', '86', '35'])}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`;
}

/** Shops store phones inconsistently; identity resolution normalises them later. */
function formatChinesePhone(digits: string, rng: SeededRandom): string {
  return rng.pick([digits, `+86 ${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`, `+86-${digits}`]);
}

function usDigits(rng: SeededRandom): string {
  return `${rng.int(200, 999)}${rng.int(200, 999)}${rng.int(1000, 9999)}`;
}

function formatUsPhone(digits: string): string {
  return `+1 ${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
}

export interface PlanOptions {
  customers: number;
  orders: number;
  malformedRate: number;
  startMs: number;
  endMs: number;
}

/** Share of accounts that are a second account of an earlier person. */
export const DUPLICATE_ACCOUNT_RATE = 0.04;
/** Share of accounts whose phone or e-mail changes after sign-up. */
export const CONTACT_CHANGE_RATE = 0.15;

export function planCustomers(options: PlanOptions, rng: SeededRandom, fakerZh: Faker, fakerEn: Faker): CustomerPlan[] {
  const { startMs, endMs } = options;
  const plans: CustomerPlan[] = [];
  const weights: number[] = [];
  let persons = 0;
  for (let i = 1; i <= options.customers; i++) {
    const original = i > 1 && rng.chance(DUPLICATE_ACCOUNT_RATE) ? plans[rng.int(0, plans.length - 1)]! : null;
    const locale = original ? original.locale : rng.chance(0.7) ? 'zh' : 'en';
    const faker = locale === 'zh' ? fakerZh : fakerEn;
    // Signups skew early so there is history to repeat on; churners stop buying at a random point.
    const signupMs = startMs + Math.pow(rng.next(), 1.5) * (endMs - startMs) * 0.95;
    const churns = rng.chance(0.45);
    const activeUntilMs = churns ? Math.min(endMs, signupMs + rng.exponential(200) * DAY_MS) : endMs;
    const activeShare = (activeUntilMs - signupMs) / (endMs - startMs);
    weights.push(rng.pareto(1.6) * activeShare);
    const handle = `${faker.string.alpha({ length: 3, casing: 'lower' })}${String(i).padStart(6, '0')}`;
    const phoneDigits = original ? original.phoneDigits : locale === 'zh' ? chineseMobileDigits(rng) : usDigits(rng);
    const phone = locale === 'zh' ? formatChinesePhone(phoneDigits, rng) : formatUsPhone(phoneDigits);
    const name = original ? original.name : faker.person.fullName();
    const email = faker.internet.email({ firstName: handle }).toLowerCase();
    const worksInCompany = rng.chance(0.3);
    const plan: CustomerPlan = {
      id: `C${String(i).padStart(6, '0')}`,
      personId: original ? original.personId : `H${String(++persons).padStart(6, '0')}`,
      locale,
      name,
      phone,
      phoneDigits,
      email,
      wechatId: original ? original.wechatId : locale === 'zh' || rng.chance(0.2) ? `wx_${handle}` : null,
      qqId: original ? original.qqId : locale === 'zh' && rng.chance(0.5) ? String(rng.int(10_000_000, 2_999_999_999)) : null,
      city: original ? original.city : faker.location.city(),
      address: original ? original.address : faker.location.streetAddress(),
      company: worksInCompany ? faker.company.name() : null,
      jobTitle: worksInCompany ? rng.pick(locale === 'zh' ? TITLES_ZH : TITLES_EN) : null,
      industry: worksInCompany ? rng.pick(INDUSTRIES) : null,
      signupMs,
      activeUntilMs,
      orderCount: 0,
      handle,
      preferredCategories: original ? original.preferredCategories : pickDistinct(rng, CATEGORIES, 2),
      brandAffinity: rng.pick(BRANDS),
      malformed: false,
      change: null,
    };
    plans.push(plan);
  }
  // Hand out exactly options.orders orders in proportion to Pareto weights (largest remainders).
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (options.orders * w) / total);
  let assigned = 0;
  plans.forEach((plan, i) => {
    plan.orderCount = Math.floor(exact[i]!);
    assigned += plan.orderCount;
  });
  const byRemainder = exact.map((value, i) => [value - Math.floor(value), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < options.orders - assigned; k++) plans[byRemainder[k % plans.length]![1]]!.orderCount += 1;
  return plans;
}

/** Decides whether a (well-formed) profile changes contact details later, and to what. */
export function planContactChange(plan: CustomerPlan, rng: SeededRandom, fakerZh: Faker, fakerEn: Faker, endMs: number): void {
  if (plan.malformed || !rng.chance(CONTACT_CHANGE_RATE)) return;
  const atMs = plan.signupMs + (0.2 + 0.7 * rng.next()) * (endMs - plan.signupMs);
  const what = rng.weighted([
    ['phone', 50],
    ['email', 30],
    ['both', 20],
  ] as const);
  const newDigits = what === 'email' ? null : plan.locale === 'zh' ? chineseMobileDigits(rng) : usDigits(rng);
  const faker = plan.locale === 'zh' ? fakerZh : fakerEn;
  plan.change = {
    atMs,
    phoneDigits: newDigits,
    phone: newDigits === null ? null : plan.locale === 'zh' ? formatChinesePhone(newDigits, rng) : formatUsPhone(newDigits),
    email: what === 'phone' ? null : faker.internet.email({ firstName: `${plan.handle}.new` }).toLowerCase(),
  };
}

function pickDistinct<T>(rng: SeededRandom, items: readonly T[], count: number): T[] {
  const chosen: T[] = [];
  while (chosen.length < Math.min(count, items.length)) {
    const item = rng.pick(items);
    if (!chosen.includes(item)) chosen.push(item);
  }
  return chosen;
}
