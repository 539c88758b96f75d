#!/bin/sh
# Stand-in for the Prisma schema engine, which cannot be downloaded here. `prisma generate` does not use it.
echo "schema engine unavailable: migrations are applied by src/infra/migrate.ts" >&2
exit 1
