/**
 * A time zone's UTC offsets between its transitions, from the ICU data Node.js carries (Intl), so
 * that the SQL converting a UTC timestamp to the zone's wall time can add a constant per span of
 * time instead of calling DuckDB's ICU conversion on every row (semantic/duckdb-dialect.ts).
 *
 * The spans cover [SPAN_START, SPAN_END); outside them the SQL keeps DuckDB's own conversion. Every
 * day of the range is probed and each change of offset narrowed to the second, so a transition is
 * missed only if a zone changed its offset and changed it back within one day (none has since 1970).
 */

/** First instant the spans cover (UTC). */
export const SPAN_START = Date.UTC(1970, 0, 1);
/** First instant after the spans (UTC): later rows use DuckDB's conversion. */
export const SPAN_END = Date.UTC(2040, 0, 1);

export interface OffsetSpan {
  /** First instant of the span, epoch milliseconds (UTC), a whole second. */
  from: number;
  /** The zone's offset from UTC during the span, in seconds (east positive). */
  offsetSeconds: number;
}

const DAY_MS = 86_400_000;

function offsetReader(zone: string): (ms: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (ms) => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(ms)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
    const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
    return Math.round((local - Math.floor(ms / 1000) * 1000) / 1000);
  };
}

const cache = new Map<string, OffsetSpan[]>();

/** The zone's offset spans from SPAN_START to SPAN_END, oldest first (throws on a zone Intl does not know). */
export function offsetSpans(zone: string): OffsetSpan[] {
  const cached = cache.get(zone);
  if (cached) return cached;
  const offsetAt = offsetReader(zone);
  const spans: OffsetSpan[] = [{ from: SPAN_START, offsetSeconds: offsetAt(SPAN_START) }];
  let previous = SPAN_START;
  let previousOffset = spans[0]!.offsetSeconds;
  for (let at = SPAN_START + DAY_MS; at < SPAN_END + DAY_MS; at += DAY_MS) {
    const probe = Math.min(at, SPAN_END - 1000);
    const offset = offsetAt(probe);
    if (offset !== previousOffset) {
      // The first second in (previous, probe] with the new offset.
      let low = previous; // old offset
      let high = probe; // new offset
      while (high - low > 1000) {
        const mid = low + Math.floor((high - low) / 2000) * 1000;
        if (offsetAt(mid) === previousOffset) low = mid;
        else high = mid;
      }
      spans.push({ from: high, offsetSeconds: offsetAt(high) });
      previousOffset = offset;
    }
    previous = probe;
    if (probe >= SPAN_END - 1000) break;
  }
  cache.set(zone, spans);
  return spans;
}
