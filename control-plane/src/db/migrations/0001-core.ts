/** Core tables: the config revision counter, services and routes (columns mirror the entity definitions). */
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row, bumped in the same transaction as every config write; its value is the snapshot version.
  await db.schema
    .createTable('config_revision')
    .addColumn('singleton', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`singleton`))
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute()
  await sql`insert into config_revision (singleton, version) values (true, 0)`.execute(db)

  await db.schema
    .createTable('services')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.unique())
    .addColumn('retries', 'bigint')
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'bigint', (c) => c.notNull())
    .addColumn('path', 'text')
    .addColumn('connect_timeout', 'bigint')
    .addColumn('write_timeout', 'bigint')
    .addColumn('read_timeout', 'bigint')
    .addColumn('tls_verify', 'boolean')
    .addColumn('tls_verify_depth', 'bigint')
    .addColumn('ca_certificates', sql`uuid[]`)
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('tags', sql`text[]`)
    .execute()
  await db.schema.createIndex('services_tags_idx').on('services').using('gin').column('tags').execute()

  await db.schema
    .createTable('routes')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.unique())
    .addColumn('protocols', sql`text[]`, (c) => c.notNull())
    .addColumn('methods', sql`text[]`)
    .addColumn('hosts', sql`text[]`)
    .addColumn('paths', sql`text[]`)
    .addColumn('headers', 'jsonb')
    .addColumn('https_redirect_status_code', 'bigint', (c) => c.notNull())
    .addColumn('regex_priority', 'bigint')
    .addColumn('strip_path', 'boolean', (c) => c.notNull())
    .addColumn('path_handling', 'text')
    .addColumn('preserve_host', 'boolean', (c) => c.notNull())
    .addColumn('request_buffering', 'boolean', (c) => c.notNull())
    .addColumn('response_buffering', 'boolean', (c) => c.notNull())
    .addColumn('snis', sql`text[]`)
    .addColumn('sources', 'jsonb')
    .addColumn('destinations', 'jsonb')
    .addColumn('service_id', 'uuid', (c) => c.references('services.id').onDelete('restrict'))
    .addColumn('tags', sql`text[]`)
    .execute()
  await db.schema.createIndex('routes_tags_idx').on('routes').using('gin').column('tags').execute()
  await db.schema.createIndex('routes_service_id_idx').on('routes').column('service_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('routes').execute()
  await db.schema.dropTable('services').execute()
  await db.schema.dropTable('config_revision').execute()
}
