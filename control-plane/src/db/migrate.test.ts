import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { entities } from '@turnpike/shared'
import { sql } from 'kysely'
import { entityColumns } from './columns.ts'
import type { Database } from './database.ts'
import { runMigrations } from './migrate.ts'
import { migrationProvider } from './migrations/index.ts'
import { type TestDatabase, testDatabases, testLogger } from './test-databases.ts'

const NON_ENTITY_TABLES = new Set([
  'config_revision',
  'kysely_migration',
  'kysely_migration_lock',
  'clustering_data_planes',
  'config_changes',
])
const ON_DELETE = { restrict: 'r', cascade: 'c', null: 'n' } as const

/** Every difference between the migrated tables and what the entity definitions say they must be. */
async function schemaDrift(db: Database): Promise<string[]> {
  const drift: string[] = []
  const cols = await sql<{
    table_name: string
    column_name: string
    data_type: string
    udt_name: string
    is_nullable: string
  }>`
    select table_name, column_name, data_type, udt_name, is_nullable
    from information_schema.columns where table_schema = current_schema()`.execute(db)
  const constraints = await sql<{ table: string; contype: string; columns: string[]; ref: string | null; del: string }>`
    select c.conrelid::regclass::text as table, c.contype,
           array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i)
                 join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i) as columns,
           c.confrelid::regclass::text as ref, c.confdeltype as del
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where n.nspname = current_schema() and c.contype in ('u', 'f')`.execute(db)
  // Unique groups with a nullable column (a plugin's scope) must treat null as a value.
  const nullsDistinct = await sql<{ name: string }>`
    select c.conname as name from pg_constraint c join pg_index i on i.indexrelid = c.conindid
    join pg_namespace n on n.oid = c.connamespace
    where n.nspname = current_schema() and c.contype = 'u' and not i.indnullsnotdistinct
      and array_length(c.conkey, 1) > 1`.execute(db)
  for (const r of nullsDistinct.rows)
    if (
      entities.some((d) =>
        (d.unique_together ?? []).some(
          (g) => g.some((f) => !(d.fields[f]?.required || d.fields[f]?.auto)) && r.name.startsWith(`${d.name}_`),
        ),
      )
    )
      drift.push(`${r.name}: nullable unique group must be NULLS NOT DISTINCT`)
  const indexes = await sql<{ tablename: string; indexdef: string }>`
    select tablename, indexdef from pg_indexes where schemaname = current_schema()`.execute(db)

  const tables = new Set(cols.rows.map((c) => c.table_name))
  for (const t of tables)
    if (!NON_ENTITY_TABLES.has(t) && !entities.some((d) => d.name === t))
      drift.push(`table ${t} has no entity definition`)

  for (const def of entities) {
    if (!tables.has(def.name)) {
      drift.push(`entity ${def.name} has no table`)
      continue
    }
    const actual = new Map(
      cols.rows
        .filter((c) => c.table_name === def.name)
        .map((c) => [
          c.column_name,
          {
            type: c.data_type === 'ARRAY' ? `${c.udt_name.slice(1)}[]` : c.data_type,
            nullable: c.is_nullable === 'YES',
          },
        ]),
    )
    const expected = entityColumns(def)
    for (const c of expected) {
      const a = actual.get(c.column)
      if (!a) drift.push(`${def.name}.${c.column}: missing column (${c.type})`)
      else if (a.type !== c.type) drift.push(`${def.name}.${c.column}: type ${a.type}, definition says ${c.type}`)
      else if (a.nullable !== c.nullable)
        drift.push(`${def.name}.${c.column}: ${a.nullable ? 'nullable' : 'not null'}, definition says the opposite`)
    }
    for (const name of actual.keys())
      if (!expected.some((c) => c.column === name)) drift.push(`${def.name}.${name}: column not in the definition`)

    const own = constraints.rows.filter((c) => c.table === def.name)
    const uniqueActual = own
      .filter((c) => c.contype === 'u')
      .map((c) => c.columns.join(','))
      .sort()
    const columnOf = (f: string) => expected.find((c) => c.field === f)?.column ?? f
    const uniqueExpected = [
      ...expected.filter((c) => def.fields[c.field]?.unique).map((c) => c.column),
      ...(def.unique_together ?? []).map((fs) => fs.map(columnOf).join(',')),
    ].sort()
    if (uniqueActual.join(';') !== uniqueExpected.join(';'))
      drift.push(
        `${def.name}: unique constraints on [${uniqueActual.join('; ')}], definition says [${uniqueExpected.join('; ')}]`,
      )

    for (const c of expected.filter((c) => c.kind === 'foreign')) {
      const f = def.fields[c.field]!
      const fk = own.find((k) => k.contype === 'f' && k.columns.join() === c.column)
      const del = f.on_delete ? ON_DELETE[f.on_delete] : 'a'
      if (!fk) drift.push(`${def.name}.${c.column}: no foreign key to ${f.reference}`)
      else if (fk.ref !== f.reference || fk.del !== del)
        drift.push(
          `${def.name}.${c.column}: references ${fk.ref} on delete '${fk.del}', definition says ${f.reference} '${del}'`,
        )
    }
    if (def.fields.tags && !indexes.rows.some((i) => i.tablename === def.name && /USING gin \(tags\)/.test(i.indexdef)))
      drift.push(`${def.name}: no GIN index on tags`)
  }
  return drift
}

for (const target of testDatabases) {
  describe(`migrations on ${target.name}`, { skip: target.skip }, () => {
    let t: TestDatabase
    before(async () => {
      t = await target.open({ migrate: false })
    })
    after(() => t?.close())

    it('reports pending migrations, runs them once, then has nothing to do', async () => {
      const names = Object.keys(await migrationProvider.getMigrations()).sort()
      assert.deepEqual(names.slice(0, 2), ['0001-core', '0002-entities'])
      const status = await runMigrations(t.db, testLogger, 'status')
      assert.deepEqual(status, { executed: [], applied: [], pending: names })
      const up = await runMigrations(t.db, testLogger, 'up')
      assert.deepEqual(up, { executed: names, applied: names, pending: [] })
      const again = await runMigrations(t.db, testLogger, 'up')
      assert.deepEqual(again.executed, [])
    })

    it('leaves tables that match the entity definitions exactly', async () => {
      assert.deepEqual(await schemaDrift(t.db), [])
    })

    it('starts the config revision at 0', async () => {
      const row = await t.db.selectFrom('config_revision').select('version').executeTakeFirstOrThrow()
      assert.equal(row.version, 0)
    })
  })
}
