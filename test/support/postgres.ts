/** Scratch databases on the machine's Postgres; tests say loudly when it is missing. */
import pg from 'pg'

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' }

/** Why Postgres is unusable, or undefined when it answers. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ ...PG, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (e) {
    return `Postgres at ${PG.host}:${PG.port} is not reachable (${(e as Error).message}); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`
  } finally {
    await client.end().catch(() => {})
  }
}

/** Creates a uniquely named database; returns its name and a drop function. */
export async function scratchDatabase(label: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `turnpike_${label}_${process.pid}_${Date.now().toString(36)}`
  const client = new pg.Client(PG)
  await client.connect()
  await client.query(`create database ${name}`)
  await client.end()
  return {
    name,
    async drop() {
      const c = new pg.Client(PG)
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}
