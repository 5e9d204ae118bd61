import { BadRequestError } from '../shared/errors.ts';
import { wallClockFormat } from './day-end.ts';

/**
 * Date ranges of a Cube query, resolved the way Cube's API gateway does (query.ts resolveDateRange and
 * date-parser.ts): results are local wall-clock times in the query's time zone, formatted
 * 'YYYY-MM-DDTHH:mm:ss.SSS'; Cube's query builder converts them to UTC itself.
 *
 * Cube parses free text with chrono-node, which is not a dependency here. Supported: absolute dates
 * and timestamps, 'today' / 'yesterday' / 'tomorrow', 'this|last|next <unit>', 'last|next <n> <units>'
 * and 'from <date> to <date>' where each side is absolute or one of today/yesterday/tomorrow/now.
 * Anything else is a 400 naming the text, as Cube answers for text it cannot parse.
 */

const UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
type Unit = (typeof UNITS)[number];
const UNIT_PATTERN = UNITS.join('|');

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ABSOLUTE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const MS: Record<'second' | 'minute' | 'hour' | 'day' | 'week', number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
};

/**
 * Wall-clock times are held in the UTC fields of a Date: calendar arithmetic on them is then plain
 * arithmetic, with no daylight-saving jumps, which is what "start of day in the query's zone" means.
 */
function wallClockNow(timeZone: string, now: Date): Date {
  const parts = wallClockFormat(timeZone).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return new Date(
    Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'), now.getUTCMilliseconds()),
  );
}

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

function add(date: Date, amount: number, unit: Unit): Date {
  if (unit === 'month' || unit === 'quarter' || unit === 'year') {
    const months = amount * (unit === 'month' ? 1 : unit === 'quarter' ? 3 : 12);
    const target = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
    const year = Math.floor(target / 12);
    const monthIndex = target - year * 12;
    // Like moment: the 31st minus a month is the last day of the shorter month, not a day in the next.
    const day = Math.min(date.getUTCDate(), daysInMonth(year, monthIndex));
    const result = new Date(date);
    result.setUTCFullYear(year, monthIndex, day);
    return result;
  }
  return new Date(date.getTime() + amount * MS[unit]);
}

function startOf(date: Date, unit: Unit): Date {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const d = date.getUTCDate();
  switch (unit) {
    case 'second':
      return new Date(Date.UTC(y, m, d, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()));
    case 'minute':
      return new Date(Date.UTC(y, m, d, date.getUTCHours(), date.getUTCMinutes()));
    case 'hour':
      return new Date(Date.UTC(y, m, d, date.getUTCHours()));
    case 'day':
      return new Date(Date.UTC(y, m, d));
    case 'week': // ISO weeks start on Monday, as Cube's 'isoWeek'
      return new Date(Date.UTC(y, m, d - ((date.getUTCDay() + 6) % 7)));
    case 'month':
      return new Date(Date.UTC(y, m, 1));
    case 'quarter':
      return new Date(Date.UTC(y, m - (m % 3), 1));
    case 'year':
      return new Date(Date.UTC(y, 0, 1));
  }
}

function endOf(date: Date, unit: Unit): Date {
  return new Date(add(startOf(date, unit), 1, unit).getTime() - 1);
}

/** Dates a query may name: four-digit years, as DuckDB's text form and Cube's formatting expect. */
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

function format(date: Date): string {
  const year = date.getUTCFullYear();
  // 'next 1000000 years' runs past what a Date holds (NaN) or past year 9999 (toISOString then
  // writes '+010000-...'): a 400 naming the bounds, not 'Invalid time value'.
  if (Number.isNaN(date.getTime()) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new BadRequestError(
      `Date out of range: dates in a query must fall in the years ${String(MIN_YEAR).padStart(4, '0')} to ${MAX_YEAR}`,
    );
  }
  return date.toISOString().slice(0, 23);
}

/** Parses an absolute date or timestamp; with a zone designator it is converted to UTC, as moment.utc does. */
function parseAbsolute(text: string): Date | undefined {
  const match = ABSOLUTE.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '0', zone] = match;
  const millis = Math.floor(Number(fraction.padEnd(6, '0')) / 1000);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(Date.UTC(2000, 0, 1, Number(h), Number(mi), Number(s), millis));
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  const utc = date.getTime();
  // Reject impossible dates (2025-02-30) rather than letting them roll over.
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return undefined;
  }
  if (!zone || zone === 'Z') return date;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return new Date(utc - sign * offsetMinutes * 60_000);
}

function parsePoint(text: string, timeZone: string, now: Date): Date | undefined {
  const wallNow = wallClockNow(timeZone, now);
  switch (text) {
    case 'now':
      return wallNow;
    case 'today':
      return wallNow;
    case 'yesterday':
      return add(wallNow, -1, 'day');
    case 'tomorrow':
      return add(wallNow, 1, 'day');
    default:
      return parseAbsolute(text);
  }
}

/** Cube's dateParser for the forms listed above; returns [start, end] as local wall-clock strings. */
export function parseRelativeDateRange(input: string, timeZone: string, now: Date = new Date()): [string, string] {
  const text = input.trim().toLowerCase().replace(/\s+/g, ' ');
  const wallNow = wallClockNow(timeZone, now);
  const range = (start: Date, end: Date): [string, string] => [format(start), format(end)];

  let match = new RegExp(`^(this|last|next) (${UNIT_PATTERN})$`).exec(text);
  if (match) {
    const unit = match[2] as Unit;
    const shift = match[1] === 'last' ? -1 : match[1] === 'next' ? 1 : 0;
    const anchor = add(wallNow, shift, unit);
    return range(startOf(anchor, unit), endOf(anchor, unit));
  }
  match = new RegExp(`^(last|next) (\\d+) (${UNIT_PATTERN})s?$`).exec(text);
  if (match) {
    const count = Number(match[2]);
    const unit = match[3] as Unit;
    // Cube: 'last 3 months' is the three whole months before the current one; 'next 3' the three after.
    const [start, end] =
      match[1] === 'last' ? [add(wallNow, -count, unit), add(wallNow, -1, unit)] : [add(wallNow, 1, unit), add(wallNow, count, unit)];
    return range(startOf(start, unit), endOf(end, unit));
  }
  if (text === 'today' || text === 'yesterday' || text === 'tomorrow') {
    const day = parsePoint(text, timeZone, now)!;
    return range(startOf(day, 'day'), endOf(day, 'day'));
  }
  // Cube keeps the time of day only when the text names a finer unit; otherwise whole days.
  const exact: Unit = (['second', 'minute', 'hour'] as const).find((unit) => text.includes(unit)) ?? 'day';
  match = /^from (.+) to (.+)$/.exec(text);
  if (match) {
    const from = parsePoint(match[1]!.trim(), timeZone, now);
    const to = parsePoint(match[2]!.trim(), timeZone, now);
    if (!from) throw new BadRequestError(`Can't parse date: '${match[1]!.trim()}'`);
    if (!to) throw new BadRequestError(`Can't parse date: '${match[2]!.trim()}'`);
    return range(startOf(from, exact), endOf(to, exact));
  }
  const single = parseAbsolute(text);
  if (single) return range(startOf(single, exact), endOf(single, exact));
  throw new BadRequestError(
    `Can't parse date: '${input}' (use [start, end] dates, or 'today', 'this month', 'last 7 days', 'from 2025-01-01 to today')`,
  );
}

/** One bound of an explicit range: a bare date widens to the whole day, a timestamp is kept to the millisecond. */
function formatBound(value: string, bound: 'start' | 'end'): string {
  if (DATE_ONLY.test(value) && parseAbsolute(value)) return `${value}T${bound === 'start' ? '00:00:00.000' : '23:59:59.999'}`;
  const date = parseAbsolute(value);
  if (!date) throw new BadRequestError(`Invalid date '${value}' in dateRange: expected YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss[.SSS]`);
  return format(date);
}

/** A timeDimensions[].dateRange (relative text, one date, or [start, end]) as [start, end] local strings. */
export function resolveDateRange(input: string | string[], timeZone: string, now: Date = new Date()): [string, string] {
  const pair =
    typeof input === 'string' ? parseRelativeDateRange(input, timeZone, now) : input.length === 1 ? [input[0]!, input[0]!] : input;
  return [formatBound(pair[0]!, 'start'), formatBound(pair[1]!, 'end')];
}

export function isAbsoluteDate(value: string): boolean {
  return parseAbsolute(value) !== undefined;
}
