import { z } from 'zod';
import type { Role } from './caller.ts';
import { ErrorResponse } from './schemas.ts';

/** One documented route: the zod schemas it validates with are the ones the document shows. */
export interface RouteDoc {
  method: 'get';
  path: string;
  summary: string;
  roles: readonly Role[] | 'public';
  query?: z.ZodType;
  response?: z.ZodType;
  /** Media types of a streamed body instead of a JSON response schema. */
  produces?: string[];
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;

/** Query parameters from an object schema's JSON schema (each property one parameter). */
function parameters(schema: z.ZodType) {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: (json.required ?? []).includes(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

/** An OpenAPI 3.0 document built from the routes' zod schemas (zod 4's own JSON Schema output). */
export function openApiDocument(routes: readonly RouteDoc[], prefix: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = { content: { 'application/json': { schema: jsonSchema(ErrorResponse, 'output') } } };
  for (const route of routes) {
    const secured = route.roles !== 'public';
    paths[`${prefix}${route.path}`] = {
      ...paths[`${prefix}${route.path}`],
      [route.method]: {
        summary: route.summary,
        ...(secured ? { description: `Roles: ${(route.roles as Role[]).join(', ')}`, security: [{ bearerAuth: [] }] } : {}),
        parameters: route.query ? parameters(route.query) : [],
        responses: {
          200: route.produces
            ? { description: 'streamed', content: Object.fromEntries(route.produces.map((t) => [t, { schema: { type: 'string' } }])) }
            : {
                description: 'OK',
                content: { 'application/json': { schema: route.response ? jsonSchema(route.response, 'output') : {} } },
              },
          400: { description: 'invalid input: each field and the reason', ...error },
          ...(secured
            ? {
                401: { description: 'no or invalid token', ...error },
                403: { description: 'role not allowed', ...error },
                429: { description: 'request limit per caller reached', ...error },
              }
            : {}),
          503: { description: 'the warehouse or the mart it needs is not available', ...error },
        },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Customer-value warehouse: decision-support API',
      version: '1.0.0',
      description: 'Customer 360, campaign lists, KPI scorecard and pipeline status. JWT (HS256) with a roles claim.',
    },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  };
}
