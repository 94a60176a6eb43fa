/**
 * Clustering tables.
 * - `clustering_data_planes`: the data plane registry (Kong's, plus the config version, the last NACK error and
 *   which control plane holds the stream). Every CP replica writes the rows of its DPs; any replica lists them all.
 * - `config_changes`: which rows each config revision touched, so a CP rebuilds a snapshot from the changed rows
 *   alone. Statement triggers on every snapshot table record (collection, id); the revision bump stamps the
 *   transaction's rows with its version. Writes that bypass the revision are stamped by the next bump, as a full
 *   read would see them then. A table added later must call `trackConfigChanges` in its own migration.
 */
import { type Kysely, sql } from 'kysely'

/** Revisions of change rows kept; a CP further behind rebuilds from a full read. */
export const CHANGE_RETENTION = 10_000

/** Snapshot tables at this migration; later ones are tracked by the migration that creates them. */
const SNAPSHOT_TABLES = [
  'services',
  'routes',
  'consumers',
  'certificates',
  'snis',
  'ca_certificates',
  'upstreams',
  'targets',
  'plugins',
  'keyauth_credentials',
  'basicauth_credentials',
  'hmacauth_credentials',
  'jwt_secrets',
  'acls',
  'keyring',
]

/** Records every insert, update, delete and truncate of `table` in config_changes. */
export async function trackConfigChanges(db: Kysely<unknown>, table: string): Promise<void> {
  const t = sql.table(table)
  const name = (event: string) => sql.id(`${table}_config_changes_${event}`)
  await sql`create trigger ${name('ins')} after insert on ${t} referencing new table as new_rows
    for each statement execute function turnpike_track_changes()`.execute(db)
  await sql`create trigger ${name('upd')} after update on ${t} referencing old table as old_rows new table as new_rows
    for each statement execute function turnpike_track_changes()`.execute(db)
  await sql`create trigger ${name('del')} after delete on ${t} referencing old table as old_rows
    for each statement execute function turnpike_track_changes()`.execute(db)
  await sql`create trigger ${name('trunc')} after truncate on ${t}
    for each statement execute function turnpike_track_changes()`.execute(db)
}

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
  await changeTracking(db)
}

async function changeTracking(db: Kysely<unknown>): Promise<void> {
  // version stays null until the writing transaction bumps config_revision.
  await db.schema
    .createTable('config_changes')
    .addColumn('version', 'bigint')
    .addColumn('collection', 'text', (c) => c.notNull())
    // '*' after a truncate: the collection must be read whole.
    .addColumn('id', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('config_changes_version_idx').on('config_changes').column('version').execute()
  await sql`create index config_changes_pending_idx on config_changes (collection) where version is null`.execute(db)
  await sql`create function turnpike_track_changes() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        insert into config_changes (collection, id) values (tg_table_name, '*');
      elsif tg_op = 'INSERT' then
        insert into config_changes (collection, id) select tg_table_name, n.id::text from new_rows n;
      elsif tg_op = 'DELETE' then
        insert into config_changes (collection, id) select tg_table_name, o.id::text from old_rows o;
      else
        insert into config_changes (collection, id)
          select tg_table_name, n.id::text from new_rows n
          union select tg_table_name, o.id::text from old_rows o;
      end if;
      return null;
    end $$`.execute(db)
  // The bump stamps what this transaction (and any committed write that skipped the bump) recorded.
  await sql`create function turnpike_stamp_changes() returns trigger language plpgsql as $$
    begin
      update config_changes set version = new.version where version is null;
      delete from config_changes where version <= new.version - ${sql.lit(CHANGE_RETENTION)};
      return null;
    end $$`.execute(db)
  await sql`create trigger config_revision_stamp_changes after update of version on config_revision
    for each row execute function turnpike_stamp_changes()`.execute(db)
  for (const table of SNAPSHOT_TABLES) await trackConfigChanges(db, table)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of SNAPSHOT_TABLES)
    for (const event of ['ins', 'upd', 'del', 'trunc'])
      await sql`drop trigger if exists ${sql.id(`${table}_config_changes_${event}`)} on ${sql.table(table)}`.execute(db)
  await sql`drop trigger if exists config_revision_stamp_changes on config_revision`.execute(db)
  await sql`drop function if exists turnpike_stamp_changes()`.execute(db)
  await sql`drop function if exists turnpike_track_changes()`.execute(db)
  await db.schema.dropTable('config_changes').execute()
  await db.schema.dropTable('clustering_data_planes').execute()
}
