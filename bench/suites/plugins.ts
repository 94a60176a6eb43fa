/**
 * plugins suite: data-plane throughput and p99 with plugin chains, each as a ratio against a route without plugins
 * served by the same process in the same run — key-auth alone, key-auth + acl, jwt HS256 and RS256, and
 * key-auth + rate-limiting (local) + prometheus — with 1 and 100,000 consumers (lookups must not grow with them).
 * Credentials travel in the query string (`?apikey=`, `?jwt=`), cycling over up to 1,000 consumers.
 */
import { createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConfigEntities, type EntityRow, flattenErrors, hashApiKey, validatePlugin } from '@turnpike/shared'
import { checkTarget } from '../lib/http-check.ts'
import { type LoadGenerator, pickLoadGenerator } from '../lib/load/index.ts'
import { type Measured, measure } from '../lib/measure.ts'
import type { BenchOptions, Suite, SuiteResult } from '../lib/options.ts'
import { type Child, spawnNodeScript, stopAll } from '../lib/processes.ts'
import { note } from '../lib/progress.ts'
import { machineInfo } from '../lib/results.ts'
import { fmtInt, fmtNum, fmtRatio, formatTable, ratio, verdict } from '../lib/table.ts'
import { type LoadRequest, SMALL_BODY_BYTES } from '../lib/workload.ts'
import { startUpstream } from '../targets/start.ts'

const SCENARIOS = [
  'none',
  'key-auth',
  'key-auth+acl',
  'jwt-hs256',
  'jwt-rs256',
  'key-auth+rate-limiting+prometheus',
] as const
type Scenario = (typeof SCENARIOS)[number]
const PATHS: Record<Scenario, string> = {
  none: '/none',
  'key-auth': '/key-auth',
  'key-auth+acl': '/key-auth-acl',
  'jwt-hs256': '/jwt-hs256',
  'jwt-rs256': '/jwt-rs256',
  'key-auth+rate-limiting+prometheus': '/krp',
}
const CONSUMER_COUNTS = [1, 100_000]
const DISTINCT_CREDENTIALS = 1000
const KEYRING = 'bench-keyring-secret'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

function plugin(name: string, routeId: string, config: Record<string, unknown> = {}): EntityRow {
  const r = validatePlugin({ id: randomUUID(), name, route: { id: routeId }, config })
  if (!r.ok) throw new Error(`bench plugin ${name}: ${flattenErrors(r.errors).join('; ')}`)
  return r.value as EntityRow
}

/** The snapshot for one data plane and, per scenario, the requests that pass its plugins. */
export function buildConfig(
  consumers: number,
  upstreamUrl: string,
): { entities: ConfigEntities; requests: Record<Scenario, LoadRequest[]> } {
  const url = new URL(upstreamUrl)
  const service = {
    id: randomUUID(),
    name: 'bench',
    protocol: 'http',
    host: url.hostname,
    port: Number(url.port),
    path: '/',
  }
  const routes = SCENARIOS.map((s) => ({
    id: randomUUID(),
    name: PATHS[s].slice(1),
    paths: [PATHS[s]],
    service: { id: service.id },
    protocols: ['http', 'https'],
  }))
  const routeOf = (s: Scenario) => routes[SCENARIOS.indexOf(s)].id
  const rs = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const rsPem = rs.publicKey.export({ type: 'spki', format: 'pem' }) as string
  const entities: ConfigEntities = {
    keyring: [{ id: randomUUID(), secret: KEYRING }],
    services: [service as unknown as EntityRow],
    routes: routes as unknown as EntityRow[],
    consumers: [],
    keyauth_credentials: [],
    acls: [],
    jwt_secrets: [],
    plugins: [
      plugin('key-auth', routeOf('key-auth')),
      plugin('key-auth', routeOf('key-auth+acl')),
      plugin('acl', routeOf('key-auth+acl'), { allow: ['bench'] }),
      plugin('jwt', routeOf('jwt-hs256')),
      plugin('jwt', routeOf('jwt-rs256')),
      plugin('key-auth', routeOf('key-auth+rate-limiting+prometheus')),
      plugin('rate-limiting', routeOf('key-auth+rate-limiting+prometheus'), { minute: 10_000_000 }),
      plugin('prometheus', routeOf('key-auth+rate-limiting+prometheus'), {
        status_code_metrics: true,
        latency_metrics: true,
      }),
    ],
  }
  const keys: string[] = []
  const hsTokens: string[] = []
  const rsTokens: string[] = []
  const sampleEvery = Math.max(1, Math.floor(consumers / DISTINCT_CREDENTIALS))
  for (let i = 0; i < consumers; i++) {
    const id = randomUUID()
    const consumer = { id: id }
    entities.consumers!.push({ id, username: `user-${i}`, custom_id: null } as EntityRow)
    entities.keyauth_credentials!.push({
      id: randomUUID(),
      consumer,
      key: hashApiKey(KEYRING, `key-${i}`),
    } as EntityRow)
    entities.acls!.push({ id: randomUUID(), consumer, group: 'bench' } as EntityRow)
    entities.jwt_secrets!.push(
      {
        id: randomUUID(),
        consumer,
        key: `hs-${i}`,
        secret: `secret-${i}`,
        algorithm: 'HS256',
        rsa_public_key: null,
      } as EntityRow,
      {
        id: randomUUID(),
        consumer,
        key: `rs-${i}`,
        secret: null,
        algorithm: 'RS256',
        rsa_public_key: rsPem,
      } as EntityRow,
    )
    if (i % sampleEvery === 0 && keys.length < DISTINCT_CREDENTIALS) {
      keys.push(`key-${i}`)
      const hsInput = `${b64({ typ: 'JWT', alg: 'HS256' })}.${b64({ iss: `hs-${i}` })}`
      hsTokens.push(`${hsInput}.${createHmac('sha256', `secret-${i}`).update(hsInput).digest('base64url')}`)
      const rsInput = `${b64({ typ: 'JWT', alg: 'RS256' })}.${b64({ iss: `rs-${i}` })}`
      rsTokens.push(`${rsInput}.${sign('sha256', Buffer.from(rsInput), rs.privateKey).toString('base64url')}`)
    }
  }
  const q = (path: string, name: string, values: string[]) => values.map((v) => ({ path: `${path}?${name}=${v}` }))
  return {
    entities,
    requests: {
      none: [{ path: PATHS.none }],
      'key-auth': q(PATHS['key-auth'], 'apikey', keys),
      'key-auth+acl': q(PATHS['key-auth+acl'], 'apikey', keys),
      'jwt-hs256': q(PATHS['jwt-hs256'], 'jwt', hsTokens),
      'jwt-rs256': q(PATHS['jwt-rs256'], 'jwt', rsTokens),
      'key-auth+rate-limiting+prometheus': q(PATHS['key-auth+rate-limiting+prometheus'], 'apikey', keys),
    },
  }
}

interface Row extends Partial<Measured> {
  consumers: number
  scenario: Scenario | 'none (again)'
  error?: string
}

async function runDataPlane(
  consumers: number,
  gen: LoadGenerator,
  opts: BenchOptions,
  upstream: { url: string; pid?: number },
  scenarios: readonly Scenario[],
): Promise<{ rows: Row[]; startup: Record<string, unknown> }> {
  note(`building a snapshot with ${fmtInt(consumers)} consumer(s)…`)
  const { entities, requests } = buildConfig(consumers, upstream.url)
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-bench-plugins-'))
  const file = join(dir, 'entities.json')
  writeFileSync(file, JSON.stringify(entities))
  let child: Child | undefined
  const rows: Row[] = []
  try {
    note(`starting the data plane (${fmtInt(consumers)} consumers)…`)
    child = spawnNodeScript(`turnpike-${consumers}`, new URL('./plugins-target.ts', import.meta.url), [
      '--entities',
      file,
    ])
    const info = await child.ready(180_000)
    const url = String(info.url)
    note(`  ready at ${url}: snapshot applied in ${info.apply_ms} ms, RSS ${info.rss_mb} MB`)
    const order: (Scenario | 'none (again)')[] = ['none', ...scenarios.filter((s) => s !== 'none'), 'none (again)']
    for (const scenario of order) {
      const reqs = requests[scenario === 'none (again)' ? 'none' : scenario]
      const problem = await checkTarget(url, reqs, SMALL_BODY_BYTES)
      if (problem) {
        note(`  ${scenario}: pre-flight failed: ${problem}`)
        rows.push({ consumers, scenario, error: `pre-flight: ${problem}` })
        continue
      }
      const m = await measure(
        gen,
        { url, requests: reqs, connections: opts.connections, durationSec: opts.durationSec },
        {
          label: `${fmtInt(consumers)} consumers › ${scenario}`,
          warmupSec: opts.warmupSec,
          repeat: opts.repeat,
          targetPid: child.proc.pid,
          upstreamPid: upstream.pid,
        },
      )
      rows.push({ consumers, scenario, ...m })
    }
    return { rows, startup: { consumers, apply_ms: info.apply_ms, rss_mb: info.rss_mb } }
  } finally {
    await child?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

interface RatioRow {
  consumers: number
  scenario: Scenario
  rps_ratio?: number
  /** req/s per core the data plane used, against the same for no plugins: steadier on a shared machine. */
  per_core_ratio?: number
  p99_ms?: number
  added_p99_ms?: number
}

function ratios(rows: Row[]): RatioRow[] {
  const out: RatioRow[] = []
  for (const consumers of new Set(rows.map((r) => r.consumers))) {
    const base = rows.filter((r) => r.consumers === consumers && r.scenario.startsWith('none') && !r.error)
    const baseRps = base.length ? base.reduce((a, r) => a + (r.rps ?? 0), 0) / base.length : undefined
    const baseP99 = base.length ? base.reduce((a, r) => a + (r.p99Ms ?? 0), 0) / base.length : undefined
    const perCore = (r: Row) => (r.rps !== undefined && r.targetCpu ? r.rps / r.targetCpu : undefined)
    const cores = base.map(perCore).filter((v): v is number => v !== undefined)
    const basePerCore = cores.length ? cores.reduce((a, v) => a + v, 0) / cores.length : undefined
    for (const r of rows) {
      if (r.consumers !== consumers || r.scenario.startsWith('none') || r.error) continue
      out.push({
        consumers,
        scenario: r.scenario as Scenario,
        rps_ratio: ratio(r.rps, baseRps),
        per_core_ratio: ratio(perCore(r), basePerCore),
        p99_ms: r.p99Ms,
        added_p99_ms: r.p99Ms !== undefined && baseP99 !== undefined ? r.p99Ms - baseP99 : undefined,
      })
    }
  }
  return out
}

function render(
  rows: Row[],
  rr: RatioRow[],
  gen: LoadGenerator,
  opts: BenchOptions,
  startups: Record<string, unknown>[],
  notes: string[],
): string {
  const pct = (n: number | undefined) => (n === undefined ? '–' : `${Math.round(n * 100)}%`)
  const results = formatTable(
    ['consumers', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'target CPU', 'other CPU', 'errors'],
    rows.map((r) =>
      r.error
        ? [fmtInt(r.consumers), r.scenario, 'not measured', '–', '–', '–', '–', r.error.slice(0, 60)]
        : [
            fmtInt(r.consumers),
            r.scenario,
            fmtInt(r.rps),
            fmtNum(r.p50Ms, 3),
            fmtNum(r.p99Ms, 3),
            pct(r.targetCpu),
            pct(r.otherCpu),
            String((r.errors ?? 0) + (r.non2xx ?? 0)),
          ],
    ),
  )
  const ratioTable = formatTable(
    ['consumers', 'scenario', 'req/s vs no plugins', 'per DP core', 'p99 ms', '+p99 ms vs no plugins'],
    rr.map((r) => [
      fmtInt(r.consumers),
      r.scenario,
      fmtRatio(r.rps_ratio),
      fmtRatio(r.per_core_ratio),
      fmtNum(r.p99_ms, 3),
      fmtNum(r.added_p99_ms, 3),
    ]),
  )
  const of = (consumers: number, s: Scenario) =>
    rr.find((r) => r.consumers === consumers && r.scenario === s)?.rps_ratio
  const krp = 'key-auth+rate-limiting+prometheus' as const
  const growth = (s: Scenario) => ratio(of(100_000, s), of(1, s))
  const checks = formatTable(
    ['target', 'measured', 'verdict'],
    [
      ...CONSUMER_COUNTS.map((n) => [
        `key-auth + rate-limiting + prometheus ≥ 0.8× no plugins (${fmtInt(n)} consumers; Kong ×0.74)`,
        fmtRatio(of(n, krp)),
        verdict(of(n, krp), (v) => v >= 0.8),
      ]),
      ...SCENARIOS.filter((s) => s !== 'none').map((s) => [
        `${s}: 100,000 consumers keep ≥ 0.95× the 1-consumer ratio`,
        fmtRatio(growth(s)),
        verdict(growth(s), (v) => v >= 0.95),
      ]),
    ],
  )
  const start = startups.map(
    (s) => `${fmtInt(s.consumers as number)} consumers: snapshot applied in ${s.apply_ms} ms, RSS ${s.rss_mb} MB`,
  )
  return [
    `plugins suite — ${gen.name}, ${opts.connections} connections, ${opts.durationSec} s per measurement after ${opts.warmupSec} s warm-up`,
    '',
    results,
    '',
    'Ratios against the route without plugins on the same data plane (mean of its two runs, before and after);',
    '"per DP core" divides each req/s by the cores the data plane used, which other load on the machine disturbs less:',
    ratioTable,
    '',
    checks,
    '',
    ...start.map((s) => `data plane: ${s}`),
    ...notes.map((n) => `note: ${n}`),
  ].join('\n')
}

async function run(opts: BenchOptions): Promise<SuiteResult> {
  const { gen, note: genNote } = pickLoadGenerator(opts.loadgen)
  const notes: string[] = []
  if (genNote) {
    notes.push(genNote)
    note(genNote)
  }
  const scenarios = SCENARIOS.filter((s) => !opts.scenarios || s === 'none' || opts.scenarios.includes(s))
  const counts = opts.targets ? CONSUMER_COUNTS.filter((n) => opts.targets!.includes(String(n))) : CONSUMER_COUNTS
  note('starting upstream…')
  const upstream = await startUpstream()
  const rows: Row[] = []
  const startups: Record<string, unknown>[] = []
  try {
    for (const consumers of counts) {
      const r = await runDataPlane(consumers, gen, opts, upstream, scenarios)
      rows.push(...r.rows)
      startups.push(r.startup)
    }
  } finally {
    note('stopping targets…')
    await stopAll()
  }
  notes.push('credentials are sent in the query string (?apikey=, ?jwt=), cycling over up to 1,000 consumers')
  const rr = ratios(rows)
  return {
    text: render(rows, rr, gen, opts, startups, notes),
    data: { machine: machineInfo(), loadgen: gen.name, startups, measurements: rows, ratios: rr, notes },
  }
}

export const pluginsSuite: Suite = {
  name: 'plugins',
  summary:
    'DP with plugin chains (key-auth, acl, jwt HS/RS, key-auth+rate-limiting+prometheus) vs no plugins, 1 and 100k consumers',
  run,
}
