/** Every migration, in order. Migrations are reviewed by hand and never edited once released. */
import type { Migration, MigrationProvider } from 'kysely/migration'
import * as core from './0001-core.ts'
import * as entities from './0002-entities.ts'
import * as clustering from './0003-clustering.ts'

const migrations: Record<string, Migration> = {
  '0001-core': core,
  '0002-entities': entities,
  '0003-clustering': clustering,
}

export const migrationProvider: MigrationProvider = { getMigrations: async () => migrations }
