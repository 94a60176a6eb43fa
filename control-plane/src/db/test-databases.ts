/**
 * Test support: every storage test runs against in-memory PGlite and, when reachable, the machine's
 * Postgres (127.0.0.1:5432, user postgres, database `test`) in a scratch database created per run.
 */
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import type { Logger, Settings } from '@turnpike/shared'
import { createLogger, loadSettings } from '@turnpike/shared'
import pg from 'pg'
import { type Database, openDatabase } from './database.ts'
import { runMigrations } from './migrate.ts'

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' }

export const testLogger: Logger = createLogger('silent')

export interface TestDatabase {
  db: Database
  /** Settings pointing at this database, to open more connections to it (a second CP replica). */
  settings: Settings
  close(): Promise<void>
}

export interface TestDatabaseTarget {
  name: 'pglite' | 'postgres'
  /** Why this target cannot run here; node:test prints it as the skip reason. */
  skip?: string
  open(options?: { migrate?: boolean }): Promise<TestDatabase>
}

async function postgresUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ ...PG, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    return undefined
  } catch (err) {
    return `Postgres unreachable at ${PG.host}:${PG.port} (user ${PG.user}, db ${PG.database}): ${(err as Error).message}`
  } finally {
    await client.end().catch(() => {})
  }
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client(PG)
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

function settingsFor(overrides: Record<string, string>): Settings {
  return loadSettings({ env: {}, overrides })
}

const pgSkip = await postgresUnreachable()
if (pgSkip) {
  process.stderr.write(`\n*** SKIPPING Postgres storage tests: ${pgSkip}\n\n`)
  // Counted in the run's summary too, so a skipped Postgres never reads as a clean pass.
  test('Postgres storage tests', { skip: pgSkip }, () => {})
}

export const testDatabases: TestDatabaseTarget[] = [
  {
    name: 'pglite',
    async open(options = {}) {
      const settings = settingsFor({ database: 'pglite' })
      const db = await openDatabase(settings, testLogger, { memory: true })
      if (options.migrate !== false) await runMigrations(db, testLogger, 'up')
      return { db, settings, close: () => db.destroy() }
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async open(options = {}) {
      const name = `turnpike_test_${randomBytes(6).toString('hex')}`
      await adminQuery(`create database ${name}`)
      const settings = settingsFor({
        database: 'postgres',
        pg_host: PG.host,
        pg_port: String(PG.port),
        pg_user: PG.user,
        pg_password: PG.password,
        pg_database: name,
      })
      const db = await openDatabase(settings, testLogger)
      if (options.migrate !== false) await runMigrations(db, testLogger, 'up')
      return {
        db,
        settings,
        async close() {
          await db.destroy()
          await adminQuery(`drop database if exists ${name} with (force)`)
        },
      }
    },
  },
]
