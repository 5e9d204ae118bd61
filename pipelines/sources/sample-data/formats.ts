/** How the sample shop writes money and time: 2-decimal strings and China-local ISO timestamps. */
const SHOP_OFFSET_MINUTES = 8 * 60;

export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.round(cents));
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** ISO 8601 with a +08:00 offset, second precision: what a Chinese shop's export carries. */
export function formatShopTimestamp(epochMs: number): string {
  const local = new Date(Math.floor(epochMs / 1000) * 1000 + SHOP_OFFSET_MINUTES * 60_000);
  return `${local.toISOString().slice(0, 19)}+08:00`;
}
