/**
 * The end of the current calendar day in a time zone, as epoch ms: how long an answer computed now
 * may be served when its query may use relative dates ("today", "last 7 days"). Daylight-saving
 * days (23 or 25 hours) are handled by checking the local clock at the candidate instant.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

/** The local wall clock (24-hour, to the second) of a time zone, one formatter per zone (building one is costly). */
export function wallClockFormat(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    if (formats.size < 1_000) formats.set(timeZone, format);
  }
  return format;
}

/** Local date (YYYY-MM-DD) and ms since local midnight at an instant. */
function localClock(ms: number, timeZone: string): { date: string; sinceMidnight: number } {
  const parts = wallClockFormat(timeZone).formatToParts(ms);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '00';
  const sinceMidnight =
    ((Number(part('hour')) * 60 + Number(part('minute'))) * 60 + Number(part('second'))) * 1000 + (((ms % 1000) + 1000) % 1000);
  return { date: `${part('year')}-${part('month')}-${part('day')}`, sinceMidnight };
}

/** The first instant (epoch ms) at which the local date in timeZone is no longer the one at `now`. */
export function endOfLocalDay(now: number, timeZone: string): number {
  const today = localClock(now, timeZone);
  let candidate = now - today.sinceMidnight + 86_400_000;
  // A 23- or 25-hour day puts the candidate an hour off midnight: step to the local midnight.
  for (let i = 0; i < 3; i += 1) {
    const at = localClock(candidate, timeZone);
    if (at.date === today.date) candidate += 86_400_000 - at.sinceMidnight;
    else if (at.sinceMidnight > 0) candidate -= at.sinceMidnight;
    else return candidate;
  }
  // A zone whose clock skips midnight: an earlier end is safe, a later one is not.
  const at = localClock(candidate, timeZone);
  return at.date === today.date ? candidate : candidate - at.sinceMidnight;
}
