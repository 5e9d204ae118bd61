import type { MemberIndex, MetaGranularity, MetaMember } from './meta.ts';
import type { NormalizedQuery } from './query-types.ts';

/**
 * The `annotation` block of a /load response, as Cube's API gateway builds it (prepare-annotation.ts):
 * for each queried member its title, type and format from the compiled model, keyed by the member as
 * written in the query; time dimensions with a granularity also carry that granularity, and, for
 * clients of older Cube versions, the time dimension without granularity is annotated too.
 */

/** The member's description as /meta gives it, plus the granularity of an annotated time dimension. */
export type AnnotationItem = Pick<
  MetaMember,
  'title' | 'shortTitle' | 'description' | 'type' | 'format' | 'currency' | 'meta' | 'drillMembers' | 'drillMembersGrouped'
> & { granularity?: MetaGranularity & { type?: 'built-in' | 'custom' } };

export interface Annotation {
  measures: Record<string, AnnotationItem>;
  dimensions: Record<string, AnnotationItem>;
  segments: Record<string, AnnotationItem>;
  timeDimensions: Record<string, AnnotationItem>;
}

const BUILT_IN_GRANULARITIES = new Set(['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year']);

function item(config: MetaMember, withDrill: boolean): AnnotationItem {
  return {
    title: config.title,
    shortTitle: config.shortTitle,
    description: config.description,
    type: config.type,
    format: config.format,
    currency: config.currency,
    meta: config.meta,
    ...(withDrill ? { drillMembers: config.drillMembers, drillMembersGrouped: config.drillMembersGrouped } : {}),
  };
}

function granularityOf(config: MetaMember, granularity: string): AnnotationItem['granularity'] {
  if (BUILT_IN_GRANULARITIES.has(granularity)) {
    const fromMeta = config.granularities?.find((g) => g.name === granularity);
    return {
      name: granularity,
      type: 'built-in',
      title: fromMeta?.title ?? granularity.charAt(0).toUpperCase() + granularity.slice(1),
      interval: fromMeta?.interval ?? `1 ${granularity}`,
    };
  }
  const custom = config.granularities?.find((g) => g.name === granularity);
  return custom ? { ...custom, type: 'custom' } : undefined;
}

export function prepareAnnotation(index: MemberIndex, query: NormalizedQuery): Annotation {
  const lookup = (name: string) => index.get(name)?.config;
  const annotate = (names: string[], withDrill: boolean) =>
    Object.fromEntries(
      names.flatMap((name) => {
        const config = lookup(name);
        return config ? [[name, item(config, withDrill)]] : [];
      }),
    );

  const timeDimensions: Record<string, AnnotationItem> = {};
  for (const td of query.timeDimensions) {
    if (!td.granularity) continue;
    const config = lookup(td.dimension);
    if (!config) continue;
    timeDimensions[`${td.dimension}.${td.granularity}`] = { ...item(config, false), granularity: granularityOf(config, td.granularity) };
    // Deprecated in Cube but still sent: rows also carry the value under the bare dimension name.
    if (!query.dimensions.includes(td.dimension)) timeDimensions[td.dimension] = item(config, false);
  }

  return {
    measures: annotate(query.measures, true),
    dimensions: annotate(query.dimensions, false),
    segments: annotate(query.segments, false),
    timeDimensions,
  };
}
