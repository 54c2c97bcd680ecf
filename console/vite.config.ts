import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Cohort Control: built into static files that the `web` process serves at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // The polyfill is an inline script, which the console's Content-Security-Policy forbids.
    modulePreload: { polyfill: false },
    // Inlined assets would be data: URLs; keep every asset a file from this origin.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
