/**
 * Child process of the router suite: measures one route count in a fresh isolate, so JIT state and heap from
 * another size never leak in. Prints one JSON line.
 *
 * Usage: node --expose-gc router-measure.ts --routes N --lookups M [--budget-sec S] [--no-regex]
 */
import { parseArgs } from 'node:util'
import { Router, type RouterRequest, validateSnapshotEntities } from '@turnpike/data-plane'
import { buildRouteSet } from '../lib/route-set.ts'

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '10' },
    lookups: { type: 'string', default: '1000000' },
    /** Seconds each timed phase may take at most; slow routers get fewer lookups rather than minutes of runtime. */
    'budget-sec': { type: 'string', default: '3' },
    'no-regex': { type: 'boolean', default: false },
  },
})
const count = Number(values.routes)
const budgetNs = Number(values['budget-sec']) * 1e9
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const now = () => process.hrtime.bigint()
const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6

const regex = !values['no-regex']
const { entities, probes } = buildRouteSet(count, undefined, { regex })

// Build: validation and router compile timed apart; the first build is JIT-cold, later ones are warm.
let t0 = now()
const validated = await validateSnapshotEntities(entities)
const validateMs = ms(t0, now())
if (!validated.ok) throw new Error(`snapshot rejected: ${validated.errors.join('; ')}`)
const services = new Map(validated.rows.services.map((s) => [s.id, s]))
gc()
const heapBefore = process.memoryUsage().heapUsed
const builds: number[] = []
let router: Router | undefined
for (let i = 0; i < (count >= 10_000 ? 5 : 20); i++) {
  t0 = now()
  router = new Router(validated.rows.routes, services)
  builds.push(ms(t0, now()))
}
const warmBuilds = builds.slice(1).sort((a, b) => a - b)
gc()
const routerHeapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20

function request(p: { method: string; host: string; path: string }): RouterRequest {
  const host = p.host.toLowerCase()
  const q = p.path.indexOf('?')
  return {
    method: p.method,
    host,
    port: 80,
    path: q < 0 ? p.path : p.path.slice(0, q),
    scheme: 'http',
    sni: undefined,
    headers: { host },
  }
}

// Correctness first: probe i must land on route r-i.
const reqs = probes.map(request)
const mismatches: string[] = []
for (const [i, req] of reqs.entries()) {
  const name = router!.match(req)?.route.row.name
  if (name !== `r-${i}`) mismatches.push(`${req.host}${req.path} → ${name ?? 'no match'} (expected r-${i})`)
}

// A fixed pseudo-random order over the probes (xorshift), so runs compare.
let seed = 0x9e3779b9
const order = Array.from({ length: Math.max(reqs.length, 4096) }, () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return reqs[(seed >>> 0) % reqs.length]
})
const miss = request({ method: 'GET', host: 'nowhere.example.invalid', path: '/definitely/not/routed' })

let sink = 0
function batch(n: number): number {
  const start = now()
  for (let i = 0; i < n; i++) if (router!.match(order[i % order.length])) sink++
  return Number(now() - start) / n
}

/** Per-lookup times in ns, minus the cost of reading the clock twice. */
function perLookup(n: number, pick: (i: number) => RouterRequest): Float64Array {
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const req = pick(i)
    const a = now()
    if (router!.match(req)) sink++
    out[i] = Number(now() - a)
  }
  return out.sort()
}

function clockCost(): number {
  const out = new Float64Array(200_000)
  for (let i = 0; i < out.length; i++) {
    const a = now()
    out[i] = Number(now() - a)
  }
  return out.sort()[out.length >> 1]
}

const pct = (sorted: Float64Array, p: number, overhead: number) =>
  Math.max(0, sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] - overhead) / 1000

// Warm-up, also sizing the timed phases so each fits the budget.
const warmCostNs = batch(Math.min(300_000, Math.max(1000, Math.floor(budgetNs / 2 / Math.max(1, batch(1000))))))
const lookups = Math.max(1000, Math.min(Number(values.lookups), Math.floor(budgetNs / Math.max(1, warmCostNs))))
const overheadNs = clockCost()
const meanNs = batch(lookups)
const hits = perLookup(lookups, (i) => order[i % order.length])
const misses = perLookup(Math.max(1000, Math.floor(lookups / 10)), () => miss)

process.stdout.write(
  `${JSON.stringify({
    routes: count,
    regex,
    candidates: router!.size,
    validate_ms: validateMs,
    build_cold_ms: builds[0],
    build_warm_ms: warmBuilds[warmBuilds.length >> 1],
    lookups,
    clock_overhead_ns: overheadNs,
    match_mean_us: meanNs / 1000,
    match_p50_us: pct(hits, 0.5, overheadNs),
    match_p99_us: pct(hits, 0.99, overheadNs),
    match_p999_us: pct(hits, 0.999, overheadNs),
    miss_p50_us: pct(misses, 0.5, overheadNs),
    miss_p99_us: pct(misses, 0.99, overheadNs),
    mismatches: mismatches.length,
    mismatch_examples: mismatches.slice(0, 3),
    router_heap_mb: routerHeapMb,
    sink: sink > 0,
  })}\n`,
)
