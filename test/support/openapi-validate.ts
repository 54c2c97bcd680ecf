import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/api/openapi/document';
import type { Harness } from './harness';

/**
 * Checks real traffic against the OpenAPI document: every response a test receives must have a
 * documented status for its route and match that status' schema, and every request body the API
 * accepted (2xx) must match the documented request body. A wrapper around the harness' request,
 * so the tests themselves stay as they are.
 */

/**
 * Routes the app serves that the document leaves out on purpose (they are not the JSON API). A
 * `prefix` entry covers everything under its path; the console serves /index.html only once built.
 */
export const DELIBERATE_EXCLUSIONS: { method: string; paths: string[]; prefix?: boolean; why: string }[] = [
  { method: 'GET', paths: ['/metrics'], why: 'Prometheus text for scrapers (METRICS_TOKEN or loopback), not JSON' },
  { method: '*', paths: ['/admin/queues'], prefix: true, why: "Bull Board: the operators' UI with its own login" },
  { method: 'GET', paths: ['/docs'], prefix: true, why: 'the rendered reference itself (HTML, JS, CSS)' },
  { method: 'GET', paths: ['/', '/index.html'], why: 'the console (HTML)' },
];

function excludedBy(e: (typeof DELIBERATE_EXCLUSIONS)[number], method: string, path: string): boolean {
  return (
    (e.method === '*' || e.method === method.toUpperCase()) &&
    e.paths.some((p) => path === p || (e.prefix === true && path.startsWith(`${p}/`)))
  );
}

export function isExcluded(method: string, path: string): boolean {
  return DELIBERATE_EXCLUSIONS.some((e) => excludedBy(e, method, path));
}

/** The served routes (METHOD /path) an exclusion covers: none means the entry outlived its route. */
export function coveredBy(e: (typeof DELIBERATE_EXCLUSIONS)[number], served: string[]): string[] {
  return served.filter((r) => {
    const [method, path] = r.split(' ') as [string, string];
    return excludedBy(e, method, path);
  });
}

const DOC_ID = 'https://cohort-import.test/openapi.json';

type Json = Record<string, any>;

let ajv: Ajv2020 | undefined;

/** One Ajv (draft 2020-12, OpenAPI 3.1's dialect) that resolves the document's $refs. */
export function documentAjv(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'components' });
  ajv.addSchema({ $id: DOC_ID, components: openApiDocument().components });
  return ajv;
}

const validators = new Map<string, ValidateFunction>();

/** A validator for a schema of the document (a {$ref: '#/components/…'} or an inline one). */
export function validatorFor(schema: Json): ValidateFunction {
  const absolute = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`));
  const key = JSON.stringify(absolute);
  let v = validators.get(key);
  if (!v) {
    v = documentAjv().compile(absolute);
    validators.set(key, v);
  }
  return v;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  params: number;
  operation: Json;
}

let routes: Route[] | undefined;

function documentedRoutes(): Route[] {
  routes ??= Object.entries(openApiDocument().paths).flatMap(([template, ops]) =>
    Object.entries(ops as Json).map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}/?$`),
      params: (template.match(/\{/g) ?? []).length,
      operation: operation as Json,
    })),
  );
  return routes;
}

/** The documented operation a request reaches, as Express routes it: literal segments beat parameters. */
export function findOperation(method: string, path: string): Route | undefined {
  const bare = path.split('?')[0]!;
  return documentedRoutes()
    .filter((r) => r.method === method.toUpperCase() && r.pattern.test(bare))
    .sort((a, b) => a.params - b.params)[0];
}

function resolve(node: Json): Json {
  if (typeof node.$ref !== 'string') return node;
  const [, kind, name] = /^#\/components\/(\w+)\/(.+)$/.exec(node.$ref)!;
  return (openApiDocument().components as Json)[kind!][name!] as Json;
}

function errorsText(v: ValidateFunction): string {
  return documentAjv().errorsText(v.errors, { separator: '; ', dataVar: 'body' });
}

/** What is wrong with this response by the document, or null. */
export function responseProblem(method: string, path: string, status: number, body: unknown): string | null {
  const route = findOperation(method, path);
  if (!route) {
    // No such route: the app's 404 (or the 401 that comes first on /v1), in the one error shape.
    const error = validatorFor({ $ref: '#/components/schemas/Error' });
    if (status >= 400 && error(body)) return null;
    return `${method} ${path} answered ${status} but is not in the document`;
  }
  const where = `${method} ${route.template} → ${status}`;
  const documented = route.operation.responses[String(status)] as Json | undefined;
  if (!documented) return `${where}: status not documented for this route`;
  const content = resolve(documented).content?.['application/json']?.schema as Json | undefined;
  if (!content) {
    return body === null || body === '' ? null : `${where}: documented without a body, got one`;
  }
  const v = validatorFor(content);
  return v(body) ? null : `${where}: ${errorsText(v)}`;
}

/** What is wrong with a request body the API accepted, by the document, or null. */
export function requestProblem(method: string, path: string, body: unknown): string | null {
  const route = findOperation(method, path);
  const requestBody = route?.operation.requestBody as Json | undefined;
  if (!route || !requestBody) return null;
  if (body === undefined) {
    return requestBody.required ? `${method} ${route.template}: accepted without its required body` : null;
  }
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return null;
    }
  }
  const v = validatorFor(requestBody.content['application/json'].schema as Json);
  return v(parsed)
    ? null
    : `${method} ${route.template}: accepted a request body the document refuses: ${errorsText(v)}`;
}

/**
 * The harness, its every response checked against the document (helpers such as
 * createConnectedWorkspace go through the same request). A mismatch throws in the test that
 * made the request; close() prints how many responses were checked.
 */
export function withDocumentedResponses(h: Harness): Harness {
  const request = h.request.bind(h);
  let checked = 0;
  h.request = async (method, path, opts = {}) => {
    const res = await request(method, path, opts);
    if (isExcluded(method, path.split('?')[0]!)) return res;
    const problem =
      responseProblem(method, path, res.status, res.body) ??
      (res.status < 300 ? requestProblem(method, path, opts.body) : null);
    if (problem) {
      throw new Error(
        `OpenAPI document mismatch: ${problem}\nresponse body: ${JSON.stringify(res.body)?.slice(0, 800)}`,
      );
    }
    checked++;
    return res;
  };
  const close = h.close.bind(h);
  h.close = async () => {
    console.log(`[openapi] ${checked} responses checked against the document`);
    await close();
  };
  return h;
}
