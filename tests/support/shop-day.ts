import { DEFAULT_SHOP_TIMEZONE } from '../../shared/config.ts';

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * The shop's calendar day (YYYY-MM-DD) of an instant, in `timeZone` (default: config shop.timezone's
 * default, the sample shop's Asia/Shanghai): the day the marts put it on (macros/shop_time.sql),
 * computed here independently with Intl.
 */
export function shopDay(at: string | number | Date, timeZone: string = DEFAULT_SHOP_TIMEZONE): string {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formats.set(timeZone, format);
  }
  return format.format(new Date(at));
}

/** The shop's calendar month (YYYY-MM) of an instant. */
export const shopMonth = (at: string | number | Date, timeZone: string = DEFAULT_SHOP_TIMEZONE): string =>
  shopDay(at, timeZone).slice(0, 7);
