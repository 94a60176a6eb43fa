/**
 * A Postgres server the test owns (initdb + pg_ctl in a temp dir, on a free loopback port), so it can be
 * killed and restarted. Run as the `postgres` user when the test runs as root (initdb refuses root).
 */
import { execFile } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './processes.ts'

const run = promisify(execFile)
const CANDIDATE_DIRS = ['/usr/local/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/bin']

function binary(name: string): string | undefined {
  for (const dir of CANDIDATE_DIRS) if (existsSync(join(dir, name))) return join(dir, name)
  return undefined
}

const isRoot = process.getuid?.() === 0

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'))
    const [, , uid, gid] = line?.split(':') ?? []
    return uid ? { uid: Number(uid), gid: Number(gid) } : undefined
  } catch {
    return undefined
  }
}

/** Why an owned Postgres cannot run here, or undefined when it can. */
export function ownedPostgresUnavailable(): string | undefined {
  if (!binary('initdb') || !binary('pg_ctl')) return `initdb/pg_ctl not found in ${CANDIDATE_DIRS.join(', ')}`
  if (isRoot && !postgresUser()) return 'running as root and there is no postgres user to run initdb as'
  if (isRoot && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser'))
    return 'running as root without runuser'
  return undefined
}

export interface OwnedPostgres {
  port: number
  /** Settings for a node using it (database `turnpike`, user `postgres`). */
  env: Record<string, string>
  /** A crash: `pg_ctl stop -m immediate` (no checkpoint, connections dropped). */
  kill(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

async function as(cmd: string, args: string[]): Promise<string> {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
  const { stdout } = await run(file, argv, { timeout: 60_000 })
  return stdout
}

export async function startOwnedPostgres(): Promise<OwnedPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-pg-'))
  const user = isRoot ? postgresUser() : undefined
  if (user) chownSync(dir, user.uid, user.gid)
  chmodSync(dir, 0o700)
  const data = join(dir, 'data')
  const port = await freePort()
  await as(binary('initdb')!, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  const pgCtl = binary('pg_ctl')!
  const start = () => as(pgCtl, ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'])
  await start()
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' })
  await admin.connect()
  await admin.query('create database turnpike')
  await admin.end()
  return {
    port,
    env: {
      TURNPIKE_DATABASE: 'postgres',
      TURNPIKE_PG_HOST: '127.0.0.1',
      TURNPIKE_PG_PORT: String(port),
      TURNPIKE_PG_USER: 'postgres',
      TURNPIKE_PG_DATABASE: 'turnpike',
    },
    async kill() {
      await as(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'])
    },
    async start() {
      await start()
    },
    async destroy() {
      await as(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
