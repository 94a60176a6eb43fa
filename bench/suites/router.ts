/**
 * router suite: the data plane's router at 10, 1,000 and 10,000 routes of realistic shapes — build time and
 * per-lookup match time — against design §9 (10k match p99 ≤ 2 µs and within 1.5× of 10 routes; build ≤ 250 ms).
 * Each size runs in its own child process (router-measure.ts).
 */
import type { BenchOptions, Suite, SuiteResult } from '../lib/options.ts'
import { spawnNodeScript } from '../lib/processes.ts'
import { phase } from '../lib/progress.ts'
import { machineInfo } from '../lib/results.ts'
import { fmtNum, fmtRatio, formatTable, ratio, verdict } from '../lib/table.ts'

/** The design's sizes, plus 10k without regex routes: a diagnostic that separates regex cost from the rest. */
const SIZES = [
  { name: '10', routes: 10, regex: true },
  { name: '1000', routes: 1000, regex: true },
  { name: '10000', routes: 10_000, regex: true },
  { name: '10000-noregex', routes: 10_000, regex: false },
]

interface SizeResult {
  routes: number
  regex: boolean
  candidates: number
  validate_ms: number
  build_cold_ms: number
  build_warm_ms: number
  lookups: number
  clock_overhead_ns: number
  match_mean_us: number
  match_p50_us: number
  match_p99_us: number
  match_p999_us: number
  miss_p50_us: number
  miss_p99_us: number
  mismatches: number
  mismatch_examples: string[]
  router_heap_mb: number
}

async function measureSize(size: (typeof SIZES)[number], lookups: number, budgetSec: number): Promise<SizeResult> {
  const label = `${size.routes.toLocaleString('en-US')} routes${size.regex ? '' : ' without regex'}`
  const done = phase(`router › ${label} (build + up to ${lookups.toLocaleString('en-US')} lookups)`)
  const child = spawnNodeScript(
    `router-${size.name}`,
    new URL('./router-measure.ts', import.meta.url),
    [
      '--routes',
      String(size.routes),
      '--lookups',
      String(lookups),
      '--budget-sec',
      String(budgetSec),
      ...(size.regex ? [] : ['--no-regex']),
    ],
    { nodeArgs: ['--expose-gc'] },
  )
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve))
  const out = child.output()
  const line = out.split('\n').find((l) => l.startsWith('{"routes"'))
  if (code !== 0 || !line) throw new Error(`router measurement for ${label} failed (exit ${code}):\n${out}`)
  const r = JSON.parse(line) as SizeResult
  done(
    `build ${fmtNum(r.build_cold_ms, 1)} ms cold, match p50 ${fmtNum(r.match_p50_us, 3)} µs p99 ${fmtNum(r.match_p99_us, 3)} µs`,
  )
  return r
}

function render(results: SizeResult[], opts: BenchOptions): string {
  const table = formatTable(
    [
      'routes',
      'validate ms',
      'build ms (cold)',
      'build ms (warm)',
      'match mean µs',
      'p50 µs',
      'p99 µs',
      'p99.9 µs',
      'miss p99 µs',
      'router heap MB',
      'wrong matches',
      'lookups',
    ],
    results.map((r) => [
      `${r.routes.toLocaleString('en-US')}${r.regex ? '' : ' (no regex)'}`,
      fmtNum(r.validate_ms, 1),
      fmtNum(r.build_cold_ms, 1),
      fmtNum(r.build_warm_ms, 2),
      fmtNum(r.match_mean_us, 3),
      fmtNum(r.match_p50_us, 3),
      fmtNum(r.match_p99_us, 3),
      fmtNum(r.match_p999_us, 3),
      fmtNum(r.miss_p99_us, 3),
      fmtNum(r.router_heap_mb, 1),
      String(r.mismatches),
      r.lookups.toLocaleString('en-US'),
    ]),
  )
  const small = results.find((r) => r.routes === 10)
  const big = results.find((r) => r.routes === 10_000 && r.regex)
  const plain = results.find((r) => r.routes === 10_000 && !r.regex)
  const growth = ratio(big?.match_p99_us, small?.match_p99_us)
  const checks = formatTable(
    ['design §9 target', 'measured', 'verdict'],
    [
      ['10k routes: match p99 ≤ 2 µs', `${fmtNum(big?.match_p99_us, 3)} µs`, verdict(big?.match_p99_us, (v) => v <= 2)],
      ['10k routes: p99 within 1.5× of 10 routes', fmtRatio(growth), verdict(growth, (v) => v <= 1.5)],
      [
        '10k routes: full build ≤ 250 ms (cold, validation excluded)',
        `${fmtNum(big?.build_cold_ms, 1)} ms`,
        verdict(big?.build_cold_ms, (v) => v <= 250),
      ],
      [
        '10k routes: validate + build ≤ 250 ms (informational)',
        `${fmtNum(big ? big.validate_ms + big.build_cold_ms : undefined, 1)} ms`,
        verdict(big ? big.validate_ms + big.build_cold_ms : undefined, (v) => v <= 250),
      ],
      [
        'diagnostic: 10k routes without regex, match p99',
        `${fmtNum(plain?.match_p99_us, 3)} µs`,
        verdict(plain?.match_p99_us, (v) => v <= 2),
      ],
    ],
  )
  const examples = results.flatMap((r) => r.mismatch_examples.map((e) => `note: ${r.routes} routes: ${e}`))
  return [
    `router suite — up to ${(opts.quick ? 200_000 : 1_000_000).toLocaleString('en-US')} timed lookups per size, ≤ ${opts.durationSec} s per timed phase; per-lookup times exclude the clock's own cost (~${fmtNum(results[0]?.clock_overhead_ns, 0)} ns)`,
    '',
    table,
    '',
    `Ratio 10k vs 10 routes: p50 ${fmtRatio(ratio(big?.match_p50_us, small?.match_p50_us))}, p99 ${fmtRatio(growth)}, mean ${fmtRatio(ratio(big?.match_mean_us, small?.match_mean_us))}`,
    '',
    checks,
    ...(examples.length ? ['', ...examples] : []),
  ].join('\n')
}

async function run(opts: BenchOptions): Promise<SuiteResult> {
  const sizes = SIZES.filter((s) => !opts.scenarios || opts.scenarios.includes(s.name))
  if (!sizes.length) throw new Error(`no such size; known: ${SIZES.map((s) => s.name).join(', ')}`)
  const lookups = opts.quick ? 200_000 : 1_000_000
  const results: SizeResult[] = []
  for (const n of sizes) results.push(await measureSize(n, lookups, opts.durationSec))
  return { text: render(results, opts), data: { machine: machineInfo(), sizes: results } }
}

export const routerSuite: Suite = {
  name: 'router',
  summary: 'DP router build and match time at 10, 1,000 and 10,000 routes vs design targets',
  run,
}
