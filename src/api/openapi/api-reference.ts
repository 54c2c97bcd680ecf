import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type RequestHandler, Router } from 'express';
import { openApiDocument } from './document';

export const OPENAPI_PATH = '/v1/openapi.json';
export const DOCS_PATH = '/docs';

/** GET /v1/openapi.json: no token needed, the document is public like the README. */
export const serveOpenApiDocument: RequestHandler = (_req, res) => {
  res.json(openApiDocument());
};

const swaggerUiDir = (
  createRequire(import.meta.url)('swagger-ui-dist') as { getAbsoluteFSPath(): string }
).getAbsoluteFSPath();

/** The renderer's files we serve: its bundle, its styles and icons (not its demo page or initializer). */
const SWAGGER_UI_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png'];

/**
 * Swagger UI sets style attributes from script (hence 'unsafe-inline' for styles only), draws its
 * icons as data: URIs, and fetches the document from this origin. No other origin, no inline
 * script: the initializer is a file too.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Cohort Import API</title>
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32" />
    <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/initializer.js"></script>
  </body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INITIALIZER = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
});
`;

/** The rendered reference at /docs: Swagger UI from swagger-ui-dist, served from this process. */
export function apiReferenceRouter(): Router {
  const r = Router();
  r.use(DOCS_PATH, (_req, res, next) => {
    res.set('Content-Security-Policy', DOCS_CSP);
    next();
  });
  r.get(DOCS_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('html').send(PAGE);
  });
  r.get(`${DOCS_PATH}/initializer.js`, (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('js').send(INITIALIZER);
  });
  r.get(`${DOCS_PATH}/:file`, (req, res, next) => {
    if (!SWAGGER_UI_FILES.includes(req.params.file)) return next();
    res.sendFile(join(swaggerUiDir, req.params.file), { maxAge: '1d' });
  });
  return r;
}
