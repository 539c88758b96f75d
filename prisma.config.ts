// Prisma CLI configuration. Only `prisma generate` runs here (DESIGN.md: the native migration
// engine cannot be downloaded on these machines); migrations are applied by src/infra/migrate.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
