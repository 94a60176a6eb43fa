/**
 * The rest of Kong's entities (consumers, certificates, SNIs, CA certificates, upstreams, targets, plugins,
 * credentials) and the API-key keyring. Columns mirror the entity definitions; deletes cascade as in Kong.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { type CreateTableBuilder, type Kysely, sql } from 'kysely'

type Table = CreateTableBuilder<string, string>

/** id, created_at, updated_at: first in every entity table. */
const common = (t: Table): Table =>
  t
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())

/** A consumer-owned credential: the consumer reference, removed with its consumer. */
const consumerRef = (t: Table): Table =>
  t.addColumn('consumer_id', 'uuid', (c) => c.notNull().references('consumers.id').onDelete('cascade'))

async function indexes(db: Kysely<unknown>, table: string, foreignColumns: string[]): Promise<void> {
  await db.schema.createIndex(`${table}_tags_idx`).on(table).using('gin').column('tags').execute()
  // Cascades and nested listings (`/consumers/{c}/key-auth`) filter on the foreign column.
  for (const column of foreignColumns)
    await db.schema.createIndex(`${table}_${column}_idx`).on(table).column(column).execute()
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await common(db.schema.createTable('consumers'))
    .addColumn('username', 'text', (c) => c.unique())
    .addColumn('custom_id', 'text', (c) => c.unique())
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'consumers', [])

  await common(db.schema.createTable('certificates'))
    .addColumn('cert', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('cert_alt', 'text')
    .addColumn('key_alt', 'text')
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'certificates', [])

  await common(db.schema.createTable('snis'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('certificate_id', 'uuid', (c) => c.notNull().references('certificates.id').onDelete('cascade'))
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'snis', ['certificate_id'])

  await common(db.schema.createTable('ca_certificates'))
    .addColumn('cert', 'text', (c) => c.notNull())
    .addColumn('cert_digest', 'text', (c) => c.unique())
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'ca_certificates', [])

  // Services gain Kong's client certificate (mTLS to the upstream) now that certificates exist.
  await db.schema
    .alterTable('services')
    .addColumn('client_certificate_id', 'uuid', (c) => c.references('certificates.id').onDelete('restrict'))
    .execute()
  await db.schema
    .createIndex('services_client_certificate_id_idx')
    .on('services')
    .column('client_certificate_id')
    .execute()

  await common(db.schema.createTable('upstreams'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('algorithm', 'text')
    .addColumn('hash_on', 'text')
    .addColumn('hash_fallback', 'text')
    .addColumn('hash_on_header', 'text')
    .addColumn('hash_fallback_header', 'text')
    .addColumn('hash_on_cookie', 'text')
    .addColumn('hash_on_cookie_path', 'text')
    .addColumn('hash_on_query_arg', 'text')
    .addColumn('hash_fallback_query_arg', 'text')
    .addColumn('hash_on_uri_capture', 'text')
    .addColumn('hash_fallback_uri_capture', 'text')
    .addColumn('slots', 'bigint')
    .addColumn('healthchecks', 'jsonb')
    .addColumn('host_header', 'text')
    .addColumn('client_certificate_id', 'uuid', (c) => c.references('certificates.id').onDelete('restrict'))
    .addColumn('use_srv_name', 'boolean')
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'upstreams', ['client_certificate_id'])

  await common(db.schema.createTable('targets'))
    .addColumn('upstream_id', 'uuid', (c) => c.notNull().references('upstreams.id').onDelete('cascade'))
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('weight', 'bigint')
    .addColumn('tags', sql`text[]`)
    .addUniqueConstraint('targets_upstream_id_target_key', ['upstream_id', 'target'])
    .execute()
  await indexes(db, 'targets', [])

  await common(db.schema.createTable('plugins'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('instance_name', 'text', (c) => c.unique())
    .addColumn('route_id', 'uuid', (c) => c.references('routes.id').onDelete('cascade'))
    .addColumn('service_id', 'uuid', (c) => c.references('services.id').onDelete('cascade'))
    .addColumn('consumer_id', 'uuid', (c) => c.references('consumers.id').onDelete('cascade'))
    .addColumn('config', 'jsonb')
    .addColumn('protocols', sql`text[]`, (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('tags', sql`text[]`)
    // Kong's cache_key: one instance per name and scope; an absent scope (null) counts as a value.
    .addUniqueConstraint(
      'plugins_name_route_id_service_id_consumer_id_key',
      ['name', 'route_id', 'service_id', 'consumer_id'],
      (u) => u.nullsNotDistinct(),
    )
    .execute()
  await indexes(db, 'plugins', ['route_id', 'service_id', 'consumer_id'])

  await consumerRef(common(db.schema.createTable('keyauth_credentials')))
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('tags', sql`text[]`)
    .addColumn('expires_at', 'bigint')
    .execute()
  await indexes(db, 'keyauth_credentials', ['consumer_id'])
  await db.schema
    .createIndex('keyauth_credentials_expires_at_idx')
    .on('keyauth_credentials')
    .column('expires_at')
    .execute()

  await consumerRef(common(db.schema.createTable('basicauth_credentials')))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password', 'text', (c) => c.notNull())
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'basicauth_credentials', ['consumer_id'])

  await consumerRef(common(db.schema.createTable('hmacauth_credentials')))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'hmacauth_credentials', ['consumer_id'])

  await consumerRef(common(db.schema.createTable('jwt_secrets')))
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('rsa_public_key', 'text')
    .addColumn('algorithm', 'text')
    .addColumn('tags', sql`text[]`)
    .execute()
  await indexes(db, 'jwt_secrets', ['consumer_id'])

  await consumerRef(common(db.schema.createTable('acls')))
    .addColumn('group', 'text', (c) => c.notNull())
    .addColumn('tags', sql`text[]`)
    .addUniqueConstraint('acls_consumer_id_group_key', ['consumer_id', 'group'])
    .execute()
  await indexes(db, 'acls', [])

  // One secret per cluster, made here so every replica sharing the database agrees on it.
  await db.schema
    .createTable('keyring')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .execute()
  await sql`create unique index keyring_single_row on keyring ((true))`.execute(db)
  await sql`insert into keyring (id, secret) values (${randomUUID()}, ${randomBytes(32).toString('base64url')})`.execute(
    db,
  )
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('services').dropColumn('client_certificate_id').execute()
  for (const table of [
    'keyring',
    'acls',
    'jwt_secrets',
    'hmacauth_credentials',
    'basicauth_credentials',
    'keyauth_credentials',
    'plugins',
    'targets',
    'upstreams',
    'ca_certificates',
    'snis',
    'certificates',
    'consumers',
  ])
    await db.schema.dropTable(table).execute()
}
