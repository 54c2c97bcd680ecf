import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app';
import { DOCS_CSP } from '../src/api/openapi/api-reference';
import { ERROR_RESPONSES, openApiDocument } from '../src/api/openapi/document';
import { errorBody } from '../src/api/errors';
import { type Harness, startHarness } from './support/harness';
import {
  coveredBy,
  DELIBERATE_EXCLUSIONS,
  documentAjv,
  isExcluded,
  requestProblem,
  responseProblem,
  validatorFor,
  withDocumentedResponses,
} from './support/openapi-validate';

/** The OpenAPI document against the app itself: its router, its renderer, and the validation helper. */
let h: Harness;
const doc = openApiDocument();

beforeAll(async () => {
  // Bull Board on, so the router walk sees it (and its exclusion is checked against something real).
  h = withDocumentedResponses(
    await startHarness({
      workers: false,
      env: { BULL_BOARD_USER: 'operator', BULL_BOARD_PASSWORD: 'a-long-enough-password' },
    }),
  );
});
afterAll(async () => {
  await h?.close();
});

interface Layer {
  name: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: string | string[];
  handle: { stack?: Layer[]; router?: { stack: Layer[] } };
}

/**
 * Every METHOD /path the app answers, from Express 5's router stack. A mounted sub-app (Bull
 * Board) hides its routes behind Express' wrapper: it counts as `* /its/mount` (all of it).
 */
function servedRoutes(stack: Layer[], prefix = ''): string[] {
  const join = (a: string, b: string) => `${a}${b}`.replace(/\/{2,}/g, '/');
  return stack.flatMap((layer) => {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((m) => m !== '_all');
      return [layer.route.path]
        .flat()
        .flatMap((path) => methods.map((m) => `${m.toUpperCase()} ${join(prefix, path)}`));
    }
    if (layer.name === 'mounted_app') return [layer.rawPath ?? '/'].flat().map((mount) => `* ${join(prefix, mount)}`);
    const inner = layer.handle.stack ?? layer.handle.router?.stack;
    if (inner) {
      return [layer.rawPath ?? '/']
        .flat()
        .flatMap((mount) => servedRoutes(inner, mount === '/' ? prefix : join(prefix, mount)));
    }
    return [];
  });
}

const toOpenApi = (route: string) => route.replace(/:(\w+)/g, '{$1}');
const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
);

describe('the document covers the router', () => {
  let served: string[];
  beforeAll(() => {
    const app = createApp(h.ctx) as unknown as { router: { stack: Layer[] } };
    served = [...new Set(servedRoutes(app.router.stack).map(toOpenApi))];
  });

  it('finds the routes by walking the Express router', () => {
    expect(served).toContain('GET /v1/cohorts/{id}/schedule/history');
    expect(served).toContain('GET /healthz');
    expect(served).toContain('* /admin/queues');
  });

  it('documents every route the app serves, but for the deliberate exclusions', () => {
    const missing = served.filter((r) => {
      const [method, path] = r.split(' ') as [string, string];
      return !documented.includes(r) && !isExcluded(method, path);
    });
    expect(missing).toEqual([]);
  });

  it('documents no route the app does not serve', () => {
    expect(documented.filter((r) => !served.includes(r))).toEqual([]);
  });

  it('lists exclusions that each still match a served route (the list does not rot)', () => {
    for (const e of DELIBERATE_EXCLUSIONS) {
      expect(coveredBy(e, served), `${e.method} ${e.paths.join(', ')}`).not.toEqual([]);
    }
  });
});

describe('the document', () => {
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops as Record<string, any>).map(([method, op]) => ({ method, path, op })),
  );

  it('is OpenAPI 3.1 with the 2020-12 dialect', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(doc.info.title).toBeTruthy();
    expect(operations.length).toBe(documented.length);
  });

  it('has schemas Ajv (draft 2020-12) compiles, every $ref resolving', () => {
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => validatorFor({ $ref: `#/components/schemas/${name}` }), name).not.toThrow();
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(operations.length);
    for (const [, kind, name] of refs) {
      expect(
        (doc.components as Record<string, Record<string, unknown>>)[kind!]?.[name!],
        `${kind}/${name}`,
      ).toBeDefined();
    }
    for (const { op } of operations) {
      for (const p of op.parameters ?? []) expect(() => documentAjv().compile(p.schema)).not.toThrow();
    }
  });

  it('gives every operation a unique id, its path parameters, a 2xx and the error shape for every error', () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, op } of operations) {
      const where = `${method} ${path}`;
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(
        (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name),
        where,
      ).toEqual(params);
      const statuses = Object.keys(op.responses).map(Number);
      expect(
        statuses.some((s) => s >= 200 && s < 300),
        where,
      ).toBe(true);
      for (const status of statuses.filter((s) => s >= 400)) {
        const ref = op.responses[status].$ref ?? '';
        if (path === '/readyz' && status === 503) continue; // not ready: the checks, not an error
        expect(ref, `${where} ${status}`).toBe(`#/components/responses/${ERROR_RESPONSES[status]!.name}`);
      }
    }
    for (const response of Object.values(doc.components.responses)) {
      expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it('says who may call: a workspace token, the admin token, or anyone', () => {
    const security = (m: string, p: string) => (doc.paths as any)[p][m].security;
    expect(security('get', '/v1/cohorts')).toEqual([{ workspaceToken: [] }]);
    expect(security('post', '/v1/workspaces')).toEqual([{ adminToken: [] }]);
    expect(security('get', '/healthz')).toEqual([]);
    expect(doc.components.securitySchemes.workspaceToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes the query parameters and the Idempotency-Key header', () => {
    const params = (m: string, p: string) => (doc.paths as any)[p][m].parameters.map((x: any) => `${x.in}:${x.name}`);
    expect(params('get', '/v1/cohorts')).toEqual(['query:limit', 'query:cursor']);
    expect(params('put', '/v1/braze-connection')).toEqual(['query:verify']);
    expect(params('post', '/v1/cohorts/{id}/imports')).toEqual(['path:id', 'header:Idempotency-Key']);
  });

  it('describes the error shape errors.ts writes', () => {
    const error = validatorFor({ $ref: '#/components/schemas/Error' });
    expect(error(errorBody('not_found', 'Cohort not found'))).toBe(true);
    expect(error(errorBody('validation_failed', 'x', { issues: [{ path: 'name', message: 'm' }] }))).toBe(true);
    expect(error({ code: 'not_found', message: 'flat' })).toBe(false);
  });
});

describe('GET /v1/openapi.json', () => {
  it('serves the document without a token', async () => {
    const res = await h.request('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});

describe('/docs', () => {
  it('serves Swagger UI from this origin: no external URL, its own CSP, every asset local', async () => {
    const page = await fetch(`${h.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(DOCS_CSP);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']));
    for (const asset of assets) {
      expect(asset).toMatch(/^\/docs\//);
      const res = await fetch(`${h.baseUrl}${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(DOCS_CSP);
    }
    const init = await (await fetch(`${h.baseUrl}/docs/initializer.js`)).text();
    expect(init).toContain('"/v1/openapi.json"');
    expect(init).toMatch(/validatorUrl: null/);
    expect(DOCS_CSP).not.toMatch(/script-src[^;]*unsafe/);
  });

  it("serves none of swagger-ui-dist's other files (its demo page points at the petstore)", async () => {
    for (const file of ['index.html', 'swagger-initializer.js', '..%2Fpackage.json']) {
      expect((await fetch(`${h.baseUrl}/docs/${file}`)).status, file).toBe(404);
    }
  });
});

describe('the response validation the end-to-end tests use', () => {
  const notFound = errorBody('not_found', 'Cohort not found');

  it('passes a documented status with its schema', () => {
    expect(responseProblem('GET', '/v1/cohorts/abc', 404, notFound)).toBeNull();
    expect(responseProblem('DELETE', '/v1/cohorts/abc', 204, null)).toBeNull();
  });

  it('fails an undocumented status, a body off its schema, and a route not in the document', () => {
    expect(responseProblem('GET', '/v1/cohorts/abc', 409, notFound)).toMatch(/status not documented/);
    expect(responseProblem('GET', '/v1/cohorts/abc', 200, { id: 'abc' })).toMatch(/must have required property/);
    expect(responseProblem('GET', '/v1/cohorts/abc', 404, { message: 'not the error shape' })).toMatch(/error/);
    expect(responseProblem('DELETE', '/v1/cohorts/abc', 204, { surprise: true })).toMatch(/without a body/);
    expect(responseProblem('GET', '/v1/not-a-route', 200, {})).toMatch(/not in the document/);
  });

  it('routes a literal segment before a parameter, as Express does', () => {
    const preview = { count: 0, unmatchable: 0, sample: [] };
    expect(responseProblem('POST', '/v1/cohorts/preview', 200, preview)).toBeNull();
  });

  it('fails a request body the API accepted but the document refuses', () => {
    expect(requestProblem('POST', '/v1/workspaces', { name: 'ok' })).toBeNull();
    expect(requestProblem('POST', '/v1/workspaces', { name: 'x', extra: 1 })).toMatch(/refuses/);
    expect(requestProblem('POST', '/v1/workspaces', undefined)).toMatch(/required body/);
    expect(requestProblem('PATCH', '/v1/cohorts/abc', undefined)).toBeNull();
  });
});
