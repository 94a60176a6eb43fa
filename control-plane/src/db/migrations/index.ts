/** Every migration, in order. Migrations are reviewed by hand and never edited once released. */
import type { Migration, MigrationProvider } from 'kysely/migration'
import * as core from './0001-core.ts'

const migrations: Record<string, Migration> = {
  '0001-core': core,
}

export const migrationProvider: MigrationProvider = { getMigrations: async () => migrations }
