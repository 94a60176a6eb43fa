/**
 * cluster suite: config sync at scale, against design §9.
 *  - propagation-10: admin write → all 10 real data plane processes serving it (their Acks), p50/p99.
 *  - streams-1000: a control plane process with 1,000 simulated DP streams (own connections, shared mTLS):
 *    propagation p50/p99, then the CP's RSS and CPU while idle.
 *  - scale: 10k services/routes + 100k consumers with key-auth credentials, inserted with batched SQL: CP build
 *    time, full snapshot size, DP decode/apply time and worst event-loop stall, one-entity delta size and
 *    write → DP serving latency.
 * Needs the machine's Postgres (127.0.0.1:5432, user postgres); scratch databases are dropped afterwards.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CONFIG_CHANNEL,
  type ControlPlane,
  type Database,
  openDatabase,
  readConfig,
  runMigrations,
  startControlPlane,
  toRow,
} from '@turnpike/control-plane'
import {
  compressPayload,
  consumers,
  createLogger,
  diffSnapshots,
  type EntityDef,
  encodeChangeLines,
  generateSelfSigned,
  hashApiKey,
  keyauthCredentials,
  loadSettings,
  type RowEncoding,
  routes,
  type Snapshot,
  sealSnapshot,
  services,
  snapshotAsChanges,
  validateEntity,
} from '@turnpike/shared'
import { sql } from 'kysely'
import pg from 'pg'
import { cpuSeconds } from '../lib/cpu.ts'
import type { BenchOptions, Suite, SuiteResult } from '../lib/options.ts'
import { type Child, freePort, spawnChild, spawnNodeScript } from '../lib/processes.ts'
import { note, phase } from '../lib/progress.ts'
import { machineInfo } from '../lib/results.ts'
import { fmtInt, fmtNum, formatTable, verdict } from '../lib/table.ts'

const BIN = fileURLToPath(new URL('../../bin/turnpike.ts', import.meta.url))
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' }
const logger = createLogger('error')
const now = () => performance.timeOrigin + performance.now()

function percentile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`)
  return json
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A scratch database on the machine's Postgres, dropped by `drop`. */
async function scratch(label: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `turnpike_bench_${label}_${Date.now().toString(36)}`
  const run = async (q: string) => {
    const c = new pg.Client({ ...PG, database: 'postgres' })
    await c.connect()
    try {
      await c.query(q)
    } finally {
      await c.end()
    }
  }
  await run(`create database ${name}`)
  return { name, drop: () => run(`drop database if exists ${name} with (force)`) }
}

async function postgresMissing(): Promise<string | undefined> {
  const c = new pg.Client({ ...PG, database: 'postgres', connectionTimeoutMillis: 2000 })
  try {
    await c.connect()
    return undefined
  } catch (err) {
    return `Postgres at ${PG.host}:${PG.port} is not reachable (${(err as Error).message})`
  } finally {
    await c.end().catch(() => {})
  }
}

/** A shared cluster pair and the settings every node needs to use it. */
function clusterCert(dir: string): Record<string, string> {
  const pair = generateSelfSigned('turnpike_clustering', 30)
  writeFileSync(join(dir, 'cluster.crt'), pair.cert)
  writeFileSync(join(dir, 'cluster.key'), pair.key, { mode: 0o600 })
  return {
    cluster_mtls: 'shared',
    cluster_cert: join(dir, 'cluster.crt'),
    cluster_cert_key: join(dir, 'cluster.key'),
  }
}

const env = (settings: Record<string, string>) =>
  Object.fromEntries(Object.entries(settings).map(([k, v]) => [`TURNPIKE_${k.toUpperCase()}`, v]))

async function inProcessControlPlane(
  database: string,
  cert: Record<string, string>,
  dir: string,
): Promise<ControlPlane> {
  const settings = loadSettings({
    env: {},
    overrides: {
      role: 'control_plane',
      database: 'postgres',
      pg_host: PG.host,
      pg_port: String(PG.port),
      pg_user: PG.user,
      pg_database: database,
      admin_listen: '127.0.0.1:0',
      cluster_listen: '127.0.0.1:0',
      prefix: dir,
      log_level: 'error',
      ...cert,
    },
  })
  return startControlPlane({ settings, logger, serveCluster: true })
}

async function spawnDataPlanes(n: number, cluster: string, cert: Record<string, string>, dir: string) {
  const dps: { child: Child; status: string }[] = []
  for (let i = 0; i < n; i++) {
    const [proxy, status] = [await freePort(), await freePort()]
    const child = spawnChild(`dp${i}`, process.execPath, [BIN, 'start'], {
      env: env({
        role: 'data_plane',
        cluster_control_plane: cluster,
        proxy_listen: `127.0.0.1:${proxy}`,
        status_listen: `127.0.0.1:${status}`,
        prefix: mkdtempSync(join(dir, `dp${i}-`)),
        log_level: 'error',
        ...cert,
      }),
    })
    dps.push({ child, status: `http://127.0.0.1:${status}` })
  }
  return dps
}

/** Resolves with the time every DP of `cp` has acked the config after `write` (the CP's registry hears each Ack). */
async function timedWrite(cp: ControlPlane, expected: number, write: () => Promise<unknown>): Promise<number> {
  const registry = cp.registry!
  const before = cp.feed.current()!.version
  const t0 = performance.now()
  const done = new Promise<number>((resolve) => {
    const check = () => {
      const cur = cp.feed.current()!
      if (cur.version <= before) return
      let n = 0
      for (const s of registry.states()) if (s.view.connected && s.view.config_hash === cur.hash) n++
      if (n >= expected) {
        stop()
        stopFeed()
        resolve(performance.now() - t0)
      }
    }
    const stop = registry.onChanged(check)
    const stopFeed = cp.feed.subscribe(() => queueMicrotask(check))
  })
  await write()
  return done
}

interface Propagation {
  dps: number
  writes: number
  p50_ms?: number
  p99_ms?: number
  max_ms?: number
}

async function propagation10(opts: BenchOptions, dir: string): Promise<Propagation> {
  const db = await scratch('prop')
  const cert = clusterCert(dir)
  const cp = await inProcessControlPlane(db.name, cert, dir)
  const dps = await spawnDataPlanes(10, cp.clusterAddress!, cert, dir)
  try {
    await admin(cp.adminUrl, 'POST', '/services', { name: 'echo', url: 'http://127.0.0.1:9/' })
    await admin(cp.adminUrl, 'POST', '/services/echo/routes', { name: 'r', paths: ['/r'] })
    const done = phase('cluster › 10 data plane processes connecting')
    await until('10 data planes in sync', () => {
      const hash = cp.feed.current()?.hash
      return [...cp.registry!.states()].filter((s) => s.view.connected && s.view.config_hash === hash).length === 10
    })
    done()
    const writes = opts.quick ? 20 : 60
    const times: number[] = []
    const run = phase(`cluster › propagation to 10 data planes (${writes} writes)`)
    for (let i = 0; i < writes; i++) {
      times.push(await timedWrite(cp, 10, () => admin(cp.adminUrl, 'PATCH', '/routes/r', { paths: [`/r${i}`] })))
      await new Promise((r) => setTimeout(r, 30))
    }
    const r = {
      dps: 10,
      writes,
      p50_ms: percentile(times, 0.5),
      p99_ms: percentile(times, 0.99),
      max_ms: Math.max(...times),
    }
    run(`p50 ${fmtNum(r.p50_ms, 1)} ms, p99 ${fmtNum(r.p99_ms, 1)} ms`)
    return r
  } finally {
    await Promise.all(dps.map((d) => d.child.stop()))
    await cp.close()
    await db.drop()
  }
}

interface Streams extends Propagation {
  cp_rss_mb?: number
  cp_idle_cpu?: number
  idle_sec: number
  connect_sec: number
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

async function streams1000(opts: BenchOptions, dir: string): Promise<Streams> {
  const count = 1000
  const db = await scratch('streams')
  const cert = clusterCert(dir)
  const [adminPort, clusterPort] = [await freePort(), await freePort()]
  const cp = spawnChild('cp', process.execPath, [BIN, 'start'], {
    env: env({
      role: 'control_plane',
      database: 'postgres',
      pg_host: PG.host,
      pg_user: PG.user,
      pg_database: db.name,
      admin_listen: `127.0.0.1:${adminPort}`,
      cluster_listen: `127.0.0.1:${clusterPort}`,
      prefix: mkdtempSync(join(dir, 'cp-')),
      log_level: 'error',
      ...cert,
    }),
  })
  const adminUrl = `http://127.0.0.1:${adminPort}`
  let sim: Child | undefined
  try {
    await until(
      'control plane Admin API',
      async () => (await fetch(`${adminUrl}/`).catch(() => undefined))?.ok === true,
    )
    await admin(adminUrl, 'POST', '/services', { name: 'echo', url: 'http://127.0.0.1:9/' })
    await admin(adminUrl, 'POST', '/services/echo/routes', { name: 'r', paths: ['/r'] })
    const connecting = phase(`cluster › ${count} simulated streams connecting (TLS, one connection each)`)
    const t0 = Date.now()
    sim = spawnNodeScript('streams', new URL('./cluster-streams.ts', import.meta.url), [
      '--address',
      `127.0.0.1:${clusterPort}`,
      '--count',
      String(count),
      '--cert',
      cert.cluster_cert!,
      '--key',
      cert.cluster_cert_key!,
    ])
    await sim.ready(300_000)
    const connectSec = (Date.now() - t0) / 1000
    connecting(`${fmtNum(connectSec, 1)} s`)

    const lines: Record<string, number>[] = []
    let waiting: ((l: Record<string, number>) => void) | undefined
    let buf = ''
    sim.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      for (let at = buf.indexOf('\n'); at >= 0; at = buf.indexOf('\n')) {
        const line = buf.slice(0, at)
        buf = buf.slice(at + 1)
        if (!line.startsWith('ALL ')) continue
        const parsed = JSON.parse(line.slice(4)) as Record<string, number>
        if (waiting) waiting(parsed)
        else lines.push(parsed)
      }
    })
    const nextAll = () =>
      new Promise<Record<string, number>>((resolve) => {
        const queued = lines.shift()
        if (queued) resolve(queued)
        else
          waiting = (l) => {
            waiting = undefined
            resolve(l)
          }
      })

    const writes = opts.quick ? 10 : 30
    const all: number[] = []
    const run = phase(`cluster › propagation to ${count} simulated streams (${writes} writes)`)
    for (let i = 0; i < writes; i++) {
      const start = now()
      const next = nextAll()
      await admin(adminUrl, 'PATCH', '/routes/r', { paths: [`/r${i}`] })
      const l = await next
      all.push(l.last! - start)
      await new Promise((r) => setTimeout(r, 100))
    }
    run(`all streams: p50 ${fmtNum(percentile(all, 0.5), 1)} ms, p99 ${fmtNum(percentile(all, 0.99), 1)} ms`)

    const idleSec = opts.quick ? 10 : 30
    const idle = phase(`cluster › control plane idle with ${count} streams`, idleSec)
    const pid = cp.proc.pid!
    const cpu0 = cpuSeconds(pid)
    await new Promise((r) => setTimeout(r, idleSec * 1000))
    const cpu1 = cpuSeconds(pid)
    const rss = rssMb(pid)
    const cpu = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / idleSec
    idle(`RSS ${fmtNum(rss, 0)} MB, CPU ${fmtNum(cpu === undefined ? undefined : cpu * 100, 1)} % of a core`)
    return {
      dps: count,
      writes,
      p50_ms: percentile(all, 0.5),
      p99_ms: percentile(all, 0.99),
      max_ms: Math.max(...all),
      cp_rss_mb: rss,
      cp_idle_cpu: cpu,
      idle_sec: idleSec,
      connect_sec: connectSec,
    }
  } finally {
    await sim?.stop()
    await cp.stop(5000)
    await db.drop()
  }
}

/** Inserts rows for `def` in batches, shaped as the Admin API would store them (defaults filled). */
async function insertRows(db: Database, def: EntityDef, count: number, make: (i: number) => Record<string, unknown>) {
  const BATCH = 1000
  const ts = Math.floor(Date.now() / 1000)
  for (let i = 0; i < count; i += BATCH) {
    const rows = []
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      const r = validateEntity(def, { id: crypto.randomUUID(), created_at: ts, updated_at: ts, ...make(j) })
      if (!r.ok) throw new Error(`${def.name}: ${JSON.stringify(r.errors)}`)
      rows.push(toRow(def, r.value))
    }
    await db.insertInto(def.name).values(rows).execute()
  }
}

interface Scale {
  services: number
  consumers: number
  rows: number
  seed_sec: number
  read_ms: number
  seal_ms: number
  build_ms: number
  raw_mb: number
  encode_ms: number
  zstd_mb: number
  zstd_ms: number
  gzip_mb: number
  gzip_ms: number
  apply: Record<string, { ms: number; stall_ms: number; p99_delay_ms: number; gc_max_ms: number } | number>
  delta_bytes: number
  delta_rows: number
  delta_p50_ms?: number
  delta_p99_ms?: number
  delta_build_p50_ms?: number
  delta_write_p50_ms?: number
  first_sync_ms: number
}

/** One report row for a measured DP phase: time, worst event-loop stall, longest GC pause. */
function phaseRow(
  label: string,
  m: { ms: number; stall_ms: number; gc_max_ms: number },
  fmt: (v: number) => string,
): string[] {
  return [label, fmt(m.ms), fmtNum(m.stall_ms, 1), fmtNum(m.gc_max_ms, 1)]
}

function saveMessage(file: string, meta: Record<string, unknown>, payload: Buffer): void {
  writeFileSync(file, Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), payload]))
}

async function scale(opts: BenchOptions, dir: string): Promise<Scale> {
  const nServices = opts.quick ? 1000 : 10_000
  const nConsumers = opts.quick ? 10_000 : 100_000
  const db = await scratch('scale')
  const settings = loadSettings({
    env: {},
    overrides: {
      role: 'control_plane',
      database: 'postgres',
      pg_host: PG.host,
      pg_user: PG.user,
      pg_database: db.name,
    },
  })
  const database = await openDatabase(settings, logger)
  let cp: ControlPlane | undefined
  let dps: { child: Child; status: string }[] = []
  try {
    await runMigrations(database, logger, 'up')
    const seeding = phase(
      `cluster › seeding ${fmtInt(nServices)} services/routes + ${fmtInt(nConsumers)} consumers/key-auth`,
    )
    const t0 = Date.now()
    const serviceIds: string[] = []
    await insertRows(database, services, nServices, (i) => {
      const id = crypto.randomUUID()
      serviceIds.push(id)
      return { id, name: `svc-${i}`, host: `backend-${i}.internal`, port: 8080, tags: ['bench'] }
    })
    await insertRows(database, routes, nServices, (i) => ({
      name: `route-${i}`,
      paths: [`/svc-${i}`],
      service: { id: serviceIds[i] },
    }))
    const consumerIds: string[] = []
    await insertRows(database, consumers, nConsumers, (i) => {
      const id = crypto.randomUUID()
      consumerIds.push(id)
      return { id, username: `user-${i}`, custom_id: `cust-${i}` }
    })
    await insertRows(database, keyauthCredentials, nConsumers, (i) => ({
      consumer: { id: consumerIds[i] },
      key: hashApiKey('bench-secret', `key-${i}`),
    }))
    await sql`update config_revision set version = version + 1`.execute(database)
    await sql`select pg_notify(${CONFIG_CHANNEL}, 'seeded')`.execute(database)
    const seedSec = (Date.now() - t0) / 1000
    seeding(`${fmtNum(seedSec, 1)} s`)

    const building = phase('cluster › CP full build (read + seal)')
    let t = performance.now()
    const read = await readConfig(database)
    const readMs = performance.now() - t
    t = performance.now()
    const snapshot = sealSnapshot(read.version, read.entities)
    const sealMs = performance.now() - t
    const rows = Object.values(snapshot.entities).reduce((n, r) => n + r.length, 0)
    building(`${fmtInt(rows)} rows: read ${fmtInt(readMs)} ms, seal ${fmtInt(sealMs)} ms`)

    const encoding = phase('cluster › full snapshot payload')
    t = performance.now()
    const raw = await encodeChangeLines(snapshotAsChanges(snapshot))
    const encodeMs = performance.now() - t
    const sized: Record<RowEncoding, { bytes: Buffer; ms: number }> = {} as never
    for (const e of ['rows+zstd', 'rows+gzip'] as const) {
      t = performance.now()
      const bytes = await compressPayload(raw, e)
      sized[e] = { bytes, ms: performance.now() - t }
    }
    encoding(
      `${fmtNum(raw.length / 1e6, 1)} MB raw, zstd ${fmtNum(sized['rows+zstd'].bytes.length / 1e6, 2)} MB, gzip ${fmtNum(sized['rows+gzip'].bytes.length / 1e6, 2)} MB`,
    )

    // The running system: a CP on this database and one real data plane process.
    const cert = clusterCert(dir)
    cp = await inProcessControlPlane(db.name, cert, dir)
    const syncing = phase('cluster › first full sync to a data plane process')
    const syncStart = performance.now()
    dps = await spawnDataPlanes(1, cp.clusterAddress!, cert, dir)
    await until(
      'the data plane holding the big config',
      () => {
        const hash = cp!.feed.current()?.hash
        return [...cp!.registry!.states()].some((s) => s.view.config_hash === hash)
      },
      300_000,
    )
    const firstSyncMs = performance.now() - syncStart
    syncing(`${fmtInt(firstSyncMs)} ms (process start included)`)

    const changes = opts.quick ? 10 : 30
    const latencies: number[] = []
    const builds: number[] = []
    const writes: number[] = []
    let prev = cp.feed.current()!
    let last: { prev: Snapshot; next: Snapshot } | undefined
    const unsubscribe = cp.feed.subscribe((s) => {
      last = { prev, next: s }
      prev = s
    })
    const delta = phase(`cluster › one-entity changes on the big config (${changes} writes)`)
    for (let i = 0; i < changes; i++) {
      const user = `user-${(i * 7919) % nConsumers}`
      const started = performance.now()
      let built = 0
      const stop = cp.feed.subscribe(() => {
        built = performance.now() - started
      })
      let answered = 0
      latencies.push(
        await timedWrite(cp, 1, async () => {
          await admin(cp!.adminUrl, 'PATCH', `/consumers/${user}`, { custom_id: `changed-${i}` })
          answered = performance.now() - started
        }),
      )
      stop()
      builds.push(built)
      writes.push(answered)
      await new Promise((r) => setTimeout(r, 50))
    }
    unsubscribe()
    const d = diffSnapshots(last!.prev, last!.next)
    const deltaRaw = await encodeChangeLines(d)
    const deltaPayload = await compressPayload(deltaRaw, 'rows+zstd')
    delta(
      `delta ${fmtInt(deltaPayload.length)} B, write → DP serving p50 ${fmtNum(percentile(latencies, 0.5), 1)} ms (CP build p50 ${fmtNum(percentile(builds, 0.5), 1)} ms)`,
    )

    // DP-side numbers in a clean process: the full snapshot and that last delta.
    const applying = phase('cluster › data plane decode + apply, event-loop stalls')
    const snapFile = join(dir, 'snapshot.msg')
    const deltaFile = join(dir, 'delta.msg')
    const z = sized['rows+zstd'].bytes
    saveMessage(
      snapFile,
      {
        version: String(snapshot.version),
        hash: snapshot.hash,
        partHashes: snapshot.part_hashes,
        nonce: '1',
        encoding: 'rows+zstd',
        rawSize: String(raw.length),
      },
      z,
    )
    // The delta file applies on top of `snapshot`: recompute it against that base.
    const nextSnap = last!.next
    const d2 = diffSnapshots(snapshot, nextSnap)
    const d2Raw = await encodeChangeLines(d2)
    saveMessage(
      deltaFile,
      {
        fromVersion: String(snapshot.version),
        fromHash: snapshot.hash,
        toVersion: String(nextSnap.version),
        hash: nextSnap.hash,
        partHashes: nextSnap.part_hashes,
        nonce: '2',
        encoding: 'rows+zstd',
        rawSize: String(d2Raw.length),
      },
      await compressPayload(d2Raw, 'rows+zstd'),
    )
    const child = spawnNodeScript(
      'apply',
      new URL('./cluster-apply.ts', import.meta.url),
      ['--snapshot', snapFile, '--delta', deltaFile],
      {
        nodeArgs: ['--max-old-space-size=4096'],
      },
    )
    const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve))
    const line = child
      .output()
      .split('\n')
      .find((l) => l.startsWith('{"full_decode"'))
    if (code !== 0 || !line) throw new Error(`apply measurement failed (exit ${code}):\n${child.output()}`)
    const apply = JSON.parse(line) as Scale['apply']
    const full = apply.full_decode as { ms: number; stall_ms: number }
    const fullApply = apply.full_apply as { ms: number; stall_ms: number }
    applying(
      `decode ${fmtInt(full.ms)} ms + apply ${fmtInt(fullApply.ms)} ms, worst stall ${fmtNum(Math.max(full.stall_ms, fullApply.stall_ms), 1)} ms`,
    )
    return {
      services: nServices,
      consumers: nConsumers,
      rows,
      seed_sec: seedSec,
      read_ms: readMs,
      seal_ms: sealMs,
      build_ms: readMs + sealMs,
      raw_mb: raw.length / 1e6,
      encode_ms: encodeMs,
      zstd_mb: sized['rows+zstd'].bytes.length / 1e6,
      zstd_ms: sized['rows+zstd'].ms,
      gzip_mb: sized['rows+gzip'].bytes.length / 1e6,
      gzip_ms: sized['rows+gzip'].ms,
      apply,
      delta_bytes: deltaPayload.length,
      delta_rows: Object.values(d).reduce((n, c) => n + c.upserts.length + c.deletes.length, 0),
      delta_p50_ms: percentile(latencies, 0.5),
      delta_p99_ms: percentile(latencies, 0.99),
      delta_build_p50_ms: percentile(builds, 0.5),
      delta_write_p50_ms: percentile(writes, 0.5),
      first_sync_ms: firstSyncMs,
    }
  } finally {
    await Promise.all(dps.map((d) => d.child.stop()))
    await cp?.close()
    await database.destroy()
    await db.drop()
  }
}

function render(r: { propagation?: Propagation; streams?: Streams; scale?: Scale }): string {
  const rows: string[][] = []
  const p = r.propagation
  if (p)
    rows.push([
      'propagation, 10 DP processes',
      `p50 ${fmtNum(p.p50_ms, 1)} / p99 ${fmtNum(p.p99_ms, 1)} ms`,
      'p99 < 100 ms',
      verdict(p.p99_ms, (v) => v < 100),
    ])
  const s = r.streams
  if (s) {
    rows.push([
      'propagation, 1,000 simulated streams',
      `p50 ${fmtNum(s.p50_ms, 1)} / p99 ${fmtNum(s.p99_ms, 1)} ms`,
      'p99 < 1 s',
      verdict(s.p99_ms, (v) => v < 1000),
    ])
    rows.push([
      'CP RSS, 1,000 streams',
      `${fmtNum(s.cp_rss_mb, 0)} MB`,
      '< 500 MB',
      verdict(s.cp_rss_mb, (v) => v < 500),
    ])
    rows.push([
      'CP CPU idle, 1,000 streams',
      `${fmtNum(s.cp_idle_cpu === undefined ? undefined : s.cp_idle_cpu * 100, 1)} % of a core`,
      'flat',
      verdict(s.cp_idle_cpu, (v) => v < 0.05),
    ])
  }
  const c = r.scale
  if (c) {
    const a = c.apply as Record<string, { ms: number; stall_ms: number }>
    const applyMs = a.full_decode!.ms + a.full_apply!.ms
    const stall = Math.max(a.full_decode!.stall_ms, a.full_apply!.stall_ms)
    const label = `${fmtInt(c.services)} svc/routes + ${fmtInt(c.consumers)} consumers`
    rows.push([
      `snapshot size (zstd), ${label}`,
      `${fmtNum(c.zstd_mb, 2)} MB (gzip ${fmtNum(c.gzip_mb, 2)})`,
      '≤ 8 MB',
      verdict(c.zstd_mb, (v) => v <= 8),
    ])
    rows.push([
      'CP full build (read + seal)',
      `${fmtInt(c.build_ms)} ms`,
      '< 3 s',
      verdict(c.build_ms, (v) => v < 3000),
    ])
    rows.push(['DP full apply (decode + apply)', `${fmtInt(applyMs)} ms`, '< 3 s', verdict(applyMs, (v) => v < 3000)])
    rows.push(['DP worst event-loop stall (full)', `${fmtNum(stall, 1)} ms`, '≤ 50 ms', verdict(stall, (v) => v <= 50)])
    rows.push([
      'one-entity change: write → DP serving',
      `p50 ${fmtNum(c.delta_p50_ms, 1)} / p99 ${fmtNum(c.delta_p99_ms, 1)} ms, ${fmtInt(c.delta_bytes)} B delta`,
      '< 100 ms',
      verdict(c.delta_p50_ms, (v) => v < 100),
    ])
  }
  const head = formatTable(['what', 'measured', 'design §9', 'verdict'], rows)
  const detail: string[] = []
  if (c) {
    const a = c.apply as Record<string, { ms: number; stall_ms: number; gc_max_ms: number }>
    detail.push(
      formatTable(
        ['scale detail', 'ms', 'worst stall ms', 'longest GC ms'],
        [
          ['CP read (REPEATABLE READ, all rows)', fmtInt(c.read_ms), '–', '–'],
          ['CP seal (canonical JSON + row digests)', fmtInt(c.seal_ms), '–', '–'],
          [`CP encode lines (${fmtNum(c.raw_mb, 1)} MB)`, fmtInt(c.encode_ms), '–', '–'],
          ['CP compress zstd / gzip', `${fmtInt(c.zstd_ms)} / ${fmtInt(c.gzip_ms)}`, '–', '–'],
          ['one-entity admin write answered (p50)', fmtNum(c.delta_write_p50_ms, 1), '–', '–'],
          ['… and the CP snapshot built (p50, from the write)', fmtNum(c.delta_build_p50_ms, 1), '–', '–'],
          phaseRow('DP decode full snapshot', a.full_decode!, fmtInt),
          phaseRow('DP apply full snapshot', a.full_apply!, fmtInt),
          phaseRow('DP cache write (received bytes)', a.full_cache_write!, fmtInt),
          phaseRow('DP decode delta', a.delta_decode!, (v) => fmtNum(v, 1)),
          phaseRow('DP apply delta', a.delta_apply!, (v) => fmtNum(v, 1)),
          phaseRow('DP cache write after a delta (re-encoded)', a.delta_cache_write!, fmtInt),
          ['first full sync to a DP process (start included)', fmtInt(c.first_sync_ms), '–', '–'],
        ],
      ),
    )
    detail.push(
      `delta: ${c.delta_rows} row(s), ${c.delta_bytes} bytes compressed; DP RSS after apply ${fmtNum(a.rss_mb as unknown as number, 0)} MB`,
    )
  }
  if (s)
    detail.push(
      `1,000 streams connected (TLS handshakes included) in ${fmtNum(s.connect_sec, 1)} s; idle sampled over ${s.idle_sec} s`,
    )
  return [head, ...detail].join('\n\n')
}

export const clusterSuite: Suite = {
  name: 'cluster',
  summary: 'config sync: propagation (10 DPs, 1,000 streams), CP idle cost, 10k+100k snapshot size/build/apply, deltas',
  async run(opts: BenchOptions): Promise<SuiteResult> {
    const missing = await postgresMissing()
    if (missing) throw new Error(`the cluster suite needs Postgres: ${missing}`)
    const want = (s: string) => !opts.scenarios || opts.scenarios.includes(s)
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-bench-cluster-'))
    const out: { propagation?: Propagation; streams?: Streams; scale?: Scale } = {}
    try {
      if (want('propagation-10')) out.propagation = await propagation10(opts, dir)
      if (want('streams-1000')) out.streams = await streams1000(opts, dir)
      if (want('scale')) out.scale = await scale(opts, dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    note('cluster suite done')
    return { text: render(out), data: { machine: machineInfo(), ...out } }
  },
}
