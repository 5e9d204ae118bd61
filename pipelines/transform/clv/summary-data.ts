/**
 * Per-customer RFM summary in the form BG/NBD and Gamma-Gamma expect (Fader, Hardie & Lee 2005):
 * purchases are counted per calendar day (several orders on one day are one purchase occasion),
 * the first purchase day starts the customer's clock and is not counted.
 *   frequency (x)   = number of purchase days after the first
 *   recency (t_x)   = days from the first to the last purchase day
 *   tenure (T)      = days from the first purchase day to the end of the calibration window
 *   monetary        = mean value of the repeat purchase days (0 when x = 0)
 */
export interface Transaction {
  customerKey: string;
  /** Epoch milliseconds. */
  at: number;
  value: number;
}

export interface CustomerSummary {
  customerKey: string;
  frequency: number;
  recencyDays: number;
  tenureDays: number;
  monetary: number;
  /** Mean value of every purchase day, the first included (used by the naive baseline). */
  averageValue: number;
  firstPurchaseAt: number;
}

export const DAY_MS = 86_400_000;

/**
 * The UTC offset (minutes east) of an IANA zone at an instant. Purchase days are counted in shop
 * time with the offset of the shop's zone (config shop.timezone) at the calibration end: one offset
 * for the whole history, so a summer-time hour moves a purchase within an hour of midnight by a day.
 */
export function utcOffsetMinutes(timezone: string, at: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(at))
    .find((part) => part.type === 'timeZoneName')?.value;
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name ?? '');
  if (!match) throw new Error(`cannot read the UTC offset of time zone ${timezone}: ${name}`);
  return match[1] ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

/** Calendar day index of an instant, in a fixed UTC offset (minutes) so days match the shop's. */
export function dayIndex(at: number, offsetMinutes = 0): number {
  return Math.floor((at + offsetMinutes * 60_000) / DAY_MS);
}

export function summarize(transactions: Iterable<Transaction>, calibrationEnd: number, offsetMinutes = 0): CustomerSummary[] {
  const endDay = dayIndex(calibrationEnd, offsetMinutes);
  const byCustomer = new Map<string, Map<number, number>>();
  for (const t of transactions) {
    if (t.at > calibrationEnd) continue;
    const days = byCustomer.get(t.customerKey) ?? new Map<number, number>();
    const day = dayIndex(t.at, offsetMinutes);
    days.set(day, (days.get(day) ?? 0) + t.value);
    byCustomer.set(t.customerKey, days);
  }
  const out: CustomerSummary[] = [];
  for (const [customerKey, days] of byCustomer) {
    const sorted = [...days.entries()].sort((a, b) => a[0] - b[0]);
    const first = sorted[0]![0];
    const last = sorted[sorted.length - 1]![0];
    const repeats = sorted.slice(1);
    out.push({
      customerKey,
      frequency: repeats.length,
      recencyDays: last - first,
      tenureDays: endDay - first,
      monetary: repeats.length === 0 ? 0 : repeats.reduce((s, [, v]) => s + v, 0) / repeats.length,
      averageValue: sorted.reduce((s, [, v]) => s + v, 0) / sorted.length,
      firstPurchaseAt: first * DAY_MS - offsetMinutes * 60_000,
    });
  }
  return out.sort((a, b) => (a.customerKey < b.customerKey ? -1 : a.customerKey > b.customerKey ? 1 : 0));
}
