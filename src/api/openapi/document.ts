import { z } from 'zod';
import { idempotencyKey } from '../routes/cohorts';
import { type Auth, namedSchemas, type Operation, operations } from './operations';

/**
 * The OpenAPI 3.1 document, generated from the zod schemas (zod's own JSON Schema output, draft
 * 2020-12, which OpenAPI 3.1 uses) and the operation table. Built once per process: it only
 * changes with the code.
 */

type JsonSchema = Record<string, unknown>;

const TARGET = { target: 'draft-2020-12', io: 'input' } as const;

/** The one error shape, by status: each is a named response of the document. */
export const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: {
    name: 'BadRequest',
    description:
      'validation_failed (details.issues names each bad field: [{path, message}]), invalid_json, or bad_request.',
  },
  401: { name: 'Unauthorized', description: 'unauthorized: no token, or not one this route takes.' },
  404: {
    name: 'NotFound',
    description: "not_found: no such resource in this workspace (another workspace's ids answer 404 too).",
  },
  409: {
    name: 'Conflict',
    description:
      'The resource is busy or not in the state asked for: run_in_progress (details.run_id), run_not_held, ' +
      'run_not_active, braze_connection_missing, token_limit.',
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'payload_too_large (details.limit in bytes), or batch_too_large (more items than a batch takes).',
  },
  415: {
    name: 'UnsupportedEncoding',
    description: 'unsupported_content_encoding: only the batch ingest routes take gzip or deflate.',
  },
  422: {
    name: 'Refused',
    description:
      'Well-formed but refused: Braze refused the key, account or endpoint (braze_refused_*, ' +
      'braze_region_unavailable, naming the field), or idempotency_key_reused.',
  },
  429: {
    name: 'TooManyFailedAuthentications',
    description: 'Too many failed authentications from this address; Retry-After says when to try again.',
  },
  500: { name: 'InternalError', description: 'internal_error: a bug, logged with the request id.' },
  502: { name: 'BrazeFailed', description: 'Braze is unreachable, failing, or refused our partner key.' },
  503: {
    name: 'Unavailable',
    description:
      'Try again later (Retry-After where known): store_busy, warehouse_timeout, queue_unavailable, ' +
      'scheduler_unavailable, plan_failed.',
  },
};

/**
 * What any route of its kind can answer besides its own errors: the body parsers (400, 413, 415),
 * authentication (401), the failed-authentication limiter on /v1 (429), a busy store (503) and a
 * bug (500).
 */
function commonErrors(op: Operation): number[] {
  const byAuth: Record<Auth, number[]> = {
    workspace: [400, 401, 413, 415, 429, 500, 503],
    admin: [400, 401, 413, 415, 429, 500, 503],
    none: op.path.startsWith('/v1/') ? [429, 500] : [500],
  };
  return byAuth[op.auth];
}

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  workspace: [{ workspaceToken: [] }],
  admin: [{ adminToken: [] }],
  none: [],
};

function componentSchemas(): { schemas: Record<string, JsonSchema>; refOf: (s: z.ZodType) => { $ref: string } } {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [id, schema] of Object.entries(namedSchemas)) {
    registry.add(schema, { id });
    names.set(schema, id);
  }
  const { schemas } = z.toJSONSchema(registry, { ...TARGET, uri: (id) => `#/components/schemas/${id}` });
  // Each is a schema inside the document, not a document of its own.
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return {
    schemas: schemas as Record<string, JsonSchema>,
    refOf: (s) => {
      const name = names.get(s);
      if (!name) throw new Error('a request or response body schema is not in namedSchemas (operations.ts)');
      return { $ref: `#/components/schemas/${name}` };
    },
  };
}

function schemaOf(s: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(s, TARGET) as JsonSchema;
  delete json.$schema;
  return json;
}

function queryParameters(query: z.ZodObject): JsonSchema[] {
  const json = schemaOf(query) as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return {
      name,
      in: 'query',
      required: json.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function pathParameters(path: string): JsonSchema[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

function buildDocument() {
  const { schemas, refOf } = componentSchemas();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of operations) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, answer] of Object.entries(op.success)) {
      responses[status] = {
        description: answer.description,
        ...(answer.body ? { content: json(refOf(answer.body)) } : {}),
      };
    }
    for (const status of [...commonErrors(op), ...(op.errors ?? [])].sort()) {
      responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]!.name}` };
    }
    const parameters = [
      ...pathParameters(op.path),
      ...(op.query ? queryParameters(op.query) : []),
      ...(op.idempotent
        ? [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'The same key again answers 200 with the run it created.',
              schema: schemaOf(idempotencyKey),
            },
          ]
        : []),
    ];
    (paths[op.path] ??= {})[op.method] = {
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      operationId: `${op.method}${op.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string = '') => c.toUpperCase())}`,
      security: SECURITY[op.auth],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.requestBody ? { requestBody: { required: !op.bodyOptional, content: json(refOf(op.requestBody)) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Cohort Import',
      version: 'v1',
      description:
        'Imports analytics cohorts into Braze through the partner cohort-import API, once or on a schedule. ' +
        'Every error has one shape: {"error": {"code", "message", "details"}}.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(operations.map((op) => op.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, description }) => [
          name,
          { description, content: json({ $ref: '#/components/schemas/Error' }) },
        ]),
      ),
      securitySchemes: {
        workspaceToken: {
          type: 'http',
          scheme: 'bearer',
          description: "A workspace's API token (ci_…): every resource is scoped to its workspace.",
        },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN, for the workspace routes.' },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildDocument>;

let built: OpenApiDocument | undefined;

/** The document, built on first use. */
export function openApiDocument(): OpenApiDocument {
  built ??= buildDocument();
  return built;
}
