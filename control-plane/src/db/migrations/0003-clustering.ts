/**
 * The data plane registry (Kong's `clustering_data_planes`, plus what Turnpike adds: the config version, the
 * last NACK error, which control plane holds the stream). Every CP replica writes the rows of the DPs
 * connected to it; any replica lists them all.
 */
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('clustering_data_planes')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('config_version', 'bigint', (c) => c.notNull())
    .addColumn('config_hash', 'text', (c) => c.notNull())
    // Epoch seconds, as Kong.
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('sync_status', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('labels', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('cert_expiry', 'bigint')
    .addColumn('connected', 'boolean', (c) => c.notNull())
    .addColumn('control_plane_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  // The purge deletes by age.
  await db.schema
    .createIndex('clustering_data_planes_last_seen_idx')
    .on('clustering_data_planes')
    .column('last_seen')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('clustering_data_planes').execute()
}
