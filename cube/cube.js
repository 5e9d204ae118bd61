// Configuration for running this folder on Cube's own server (mount cube/ as /cube/conf; the model
// is cube/model). The embedded API in api/ applies the same rules (semantic/access-control.ts).
//
// Access policies in the model name groups: the JWT's `roles` claim (or a single `role`) are the
// caller's groups. Row-level scoping reads the `brands` and `regions` claims directly in the
// policies' conditions and filters. A group no policy names grants nothing, so the claims are
// passed on as they are; the embedded API refuses unknown roles with a 403 (its one list of roles
// is KNOWN_ROLES in semantic/access-control.ts).

module.exports = {
  contextToGroups: ({ securityContext }) => {
    const claims = securityContext || {};
    const list = (value) => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);
    return [...list(claims.roles), ...list(claims.role)].filter((role) => typeof role === 'string');
  },
  // Rollups live in the warehouse's pre_aggregations schema, built for these zones.
  preAggregationsSchema: 'pre_aggregations',
  scheduledRefreshTimeZones: ['UTC', 'Asia/Shanghai'],
};
