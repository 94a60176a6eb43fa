/** Runs or reports the schema migrations (kysely's Migrator, which locks so several CPs can start at once). */
import type { Logger } from '@turnpike/shared'
import { TurnpikeError } from '@turnpike/shared'
import { Migrator } from 'kysely/migration'
import type { Database } from './database.ts'
import { migrationProvider } from './migrations/index.ts'

export interface MigrationReport {
  /** Migrations this call ran (empty for 'status'). */
  executed: string[]
  /** Migrations already in the database after this call. */
  applied: string[]
  /** Migrations not yet run. */
  pending: string[]
}

export async function runMigrations(
  database: Database,
  logger: Logger,
  command: 'up' | 'status',
): Promise<MigrationReport> {
  const migrator = new Migrator({ db: database, provider: migrationProvider })
  const executed: string[] = []
  if (command === 'up') {
    const { error, results } = await migrator.migrateToLatest()
    for (const r of results ?? []) {
      if (r.status === 'Success') executed.push(r.migrationName)
      if (r.status === 'Error') {
        const reason = error instanceof Error ? error.message : String(error)
        throw new TurnpikeError('DATABASE_ERROR', `migration ${r.migrationName} failed: ${reason}`)
      }
    }
    if (error) throw new TurnpikeError('DATABASE_ERROR', `migrations failed: ${(error as Error).message ?? error}`)
    if (executed.length) logger.info({ migrations: executed }, 'database migrated')
  }
  const all = await migrator.getMigrations()
  return {
    executed,
    applied: all.filter((m) => m.executedAt).map((m) => m.name),
    pending: all.filter((m) => !m.executedAt).map((m) => m.name),
  }
}
