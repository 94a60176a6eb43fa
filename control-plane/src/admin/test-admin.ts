/** Test support: an Admin API over a test database, driven with `inject`. */
import { randomUUID } from 'node:crypto'
import { loadSettings } from '@turnpike/shared'
import type { FastifyInstance } from 'fastify'
import { createEntityStore, type EntityStore } from '../db/entity-store.ts'
import { type TestDatabase, type TestDatabaseTarget, testLogger } from '../db/test-databases.ts'
import { type AdminApiOptions, buildAdminApi } from './admin-api.ts'

export type Json = Record<string, unknown> & { data?: Record<string, unknown>[] }

export interface AdminResponse {
  status: number
  body: Json
  headers: Record<string, unknown>
}

export interface TestAdmin {
  app: FastifyInstance
  db: TestDatabase
  store: EntityStore
  /** JSON bodies for objects; strings are sent as they are (set the content-type yourself). */
  call(method: string, url: string, body?: unknown, headers?: Record<string, string | string[]>): Promise<AdminResponse>
  form(method: string, url: string, body: string): Promise<AdminResponse>
  close(): Promise<void>
}

/** `extra` adds Admin API options (a health source, clustering) over the defaults. */
export async function openTestAdmin(
  target: TestDatabaseTarget,
  overrides: Record<string, string> = {},
  extra: Partial<AdminApiOptions> = {},
): Promise<TestAdmin> {
  const db = await target.open()
  const settings = {
    ...db.settings,
    ...loadSettings({ env: {}, overrides: { ...overrides, database: db.settings.database } }),
  }
  Object.assign(settings, { pg_database: db.settings.pg_database, pg_host: db.settings.pg_host })
  const store = createEntityStore(db.db, { keyringSecret: settings.keyring_secret || undefined })
  const app = buildAdminApi({ store, db: db.db, settings, logger: testLogger, nodeId: randomUUID(), ...extra })
  await app.ready()
  async function call(method: string, url: string, body?: unknown, headers: Record<string, string | string[]> = {}) {
    const payload =
      body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
    const contentType = typeof body === 'object' && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}
    const res = await app.inject({
      method: method as 'GET',
      url,
      payload: payload as string | undefined,
      headers: { ...contentType, ...headers } as Record<string, string>,
    })
    let parsed: Json = {}
    if (res.body) parsed = res.headers['content-type']?.toString().includes('json') ? res.json() : { raw: res.body }
    return { status: res.statusCode, body: parsed, headers: res.headers }
  }
  return {
    app,
    db,
    store,
    call,
    form: (method, url, body) => call(method, url, body, { 'content-type': 'application/x-www-form-urlencoded' }),
    async close() {
      await app.close()
      await db.close()
    },
  }
}
