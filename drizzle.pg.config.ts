import { defineConfig } from 'drizzle-kit';

/** The control database's PostgreSQL migrations (`npm run db:generate` makes both dialects'). */
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/pg-schema.ts',
  out: './db/pg-migrations',
});
