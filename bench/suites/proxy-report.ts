/** The proxy suite's report: results table, ratios against the same run's baselines, design §9 checks. */
import type { LoadGenerator } from '../lib/load/index.ts'
import type { Measured } from '../lib/measure.ts'
import type { BenchOptions } from '../lib/options.ts'
import { fmtInt, fmtNum, fmtRatio, formatTable, ratio, verdict } from '../lib/table.ts'
import type { Label } from './proxy-scenarios.ts'

export interface Row extends Partial<Measured> {
  scenario: string
  target: Label
  rate?: number
  error?: string
}

/** Other CPU above this (cores) means another job competed with the measurement. */
const DISTURBED = 0.25
const disturbed = (r: Row) => (r.otherCpu ?? 0) > DISTURBED

export interface RatioRow {
  scenario: string
  dp_vs_minimal?: number
  dp_vs_nginx?: number
  dp_vs_direct?: number
  dp_vs_fastify?: number
  minimal_vs_nginx?: number
  /** upstream-3 only: its DP ÷ small-keepalive's DP (the same service on one host). */
  dp_vs_one_host?: number
  /** workers-2 only: its DP's requests per CPU-second ÷ small-keepalive's DP's (1 worker). */
  dp_per_cpu_vs_one_worker?: number
  dp_added_p99_ms?: number
  minimal_added_p99_ms?: number
}

/** Requests per CPU-second of the target's process (all its threads). */
const perCpu = (r: Row | undefined) => (r?.rps !== undefined && r.targetCpu ? r.rps / r.targetCpu : undefined)

export function ratios(rows: Row[], names: string[]): RatioRow[] {
  return names.map((scenario) => {
    const get = (t: Label) => rows.find((r) => r.scenario === scenario && r.target === t && !r.error)
    const [dp, min, ngx, dir, fst] = [
      get('turnpike'),
      get('minimal-proxy'),
      get('nginx'),
      get('direct'),
      get('fastify-proxy'),
    ]
    const oneHost = rows.find((r) => r.scenario === 'small-keepalive' && r.target === 'turnpike' && !r.error)
    const added = (r: Row | undefined) =>
      r?.p99Ms !== undefined && dir?.p99Ms !== undefined ? r.p99Ms - dir.p99Ms : undefined
    return {
      scenario,
      dp_vs_minimal: ratio(dp?.rps, min?.rps),
      dp_vs_nginx: ratio(dp?.rps, ngx?.rps),
      dp_vs_direct: ratio(dp?.rps, dir?.rps),
      dp_vs_fastify: ratio(dp?.rps, fst?.rps),
      minimal_vs_nginx: ratio(min?.rps, ngx?.rps),
      dp_vs_one_host: scenario === 'upstream-3' || scenario === 'workers-2' ? ratio(dp?.rps, oneHost?.rps) : undefined,
      dp_per_cpu_vs_one_worker: scenario === 'workers-2' ? ratio(perCpu(dp), perCpu(oneHost)) : undefined,
      dp_added_p99_ms: added(dp),
      minimal_added_p99_ms: added(min),
    }
  })
}

export function render(rows: Row[], rr: RatioRow[], gen: LoadGenerator, opts: BenchOptions, notes: string[]): string {
  const disturbedRows = rows.filter(disturbed)
  const disturbedScenarios = new Set(disturbedRows.map((r) => r.scenario))
  /** A verdict, flagged when a scenario it rests on was disturbed. */
  const check = (v: string, ...scenarios: string[]) =>
    v !== '–' && scenarios.some((s) => disturbedScenarios.has(s)) ? `${v} (!)` : v
  const pct = (n: number | undefined) => (n === undefined ? '–' : `${Math.round(n * 100)}%`)
  const results = formatTable(
    [
      'scenario',
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'target CPU',
      'upstream CPU',
      'loadgen CPU',
      'other CPU',
      'errors',
    ],
    rows.map((r) =>
      r.error
        ? [r.scenario, r.target, 'not measured', '–', '–', '–', '–', '–', '–', '–']
        : [
            r.scenario,
            r.target,
            fmtInt(r.rps),
            fmtNum(r.p50Ms, 3),
            fmtNum(r.p99Ms, 3),
            pct(r.targetCpu),
            pct(r.upstreamCpu),
            pct(r.loadgenCpu),
            `${pct(r.otherCpu)}${disturbed(r) ? ' !' : ''}`,
            String((r.errors ?? 0) + (r.non2xx ?? 0)),
          ],
    ),
  )
  const ratioTable = formatTable(
    [
      'scenario',
      'DP/minimal',
      'DP/nginx',
      'DP/direct',
      'DP/fastify',
      'minimal/nginx',
      'DP/1 host|1 worker',
      'req/CPU-s vs 1 worker',
      'DP +p99 ms',
      'minimal +p99 ms',
    ],
    rr.map((r) => [
      `${r.scenario}${disturbedScenarios.has(r.scenario) ? ' !' : ''}`,
      fmtRatio(r.dp_vs_minimal),
      fmtRatio(r.dp_vs_nginx),
      fmtRatio(r.dp_vs_direct),
      fmtRatio(r.dp_vs_fastify),
      fmtRatio(r.minimal_vs_nginx),
      fmtRatio(r.dp_vs_one_host),
      fmtRatio(r.dp_per_cpu_vs_one_worker),
      fmtNum(r.dp_added_p99_ms, 3),
      fmtNum(r.minimal_added_p99_ms, 3),
    ]),
  )
  const by = (s: string) => rr.find((r) => r.scenario === s)
  const dpRps = (s: string) => rows.find((r) => r.scenario === s && r.target === 'turnpike' && !r.error)?.rps
  const drop = ratio(dpRps('1k-routes'), dpRps('small-keepalive'))
  const checks = formatTable(
    ['design §9 target', 'measured', 'verdict'],
    [
      [
        'DP ≥ 0.95× minimal proxy (small-keepalive)',
        fmtRatio(by('small-keepalive')?.dp_vs_minimal),
        check(
          verdict(by('small-keepalive')?.dp_vs_minimal, (v) => v >= 0.95),
          'small-keepalive',
        ),
      ],
      [
        'DP ≥ 0.5× nginx (small-keepalive)',
        fmtRatio(by('small-keepalive')?.dp_vs_nginx),
        check(
          verdict(by('small-keepalive')?.dp_vs_nginx, (v) => v >= 0.5),
          'small-keepalive',
        ),
      ],
      [
        'upstream of 3 targets ÷ one host ≥ 0.95× (upstream-3 / small-keepalive DP)',
        fmtRatio(by('upstream-3')?.dp_vs_one_host),
        check(
          verdict(by('upstream-3')?.dp_vs_one_host, (v) => v >= 0.95),
          'upstream-3',
          'small-keepalive',
        ),
      ],
      [
        'requests per CPU-second, 2 workers ≥ 0.9× 1 worker (workers-2 / small-keepalive DP)',
        fmtRatio(by('workers-2')?.dp_per_cpu_vs_one_worker),
        check(
          verdict(by('workers-2')?.dp_per_cpu_vs_one_worker, (v) => v >= 0.9),
          'workers-2',
          'small-keepalive',
        ),
      ],
      [
        'added p99 ≤ 1 ms over direct at half load',
        `${fmtNum(by('half-load')?.dp_added_p99_ms, 3)} ms`,
        check(
          verdict(by('half-load')?.dp_added_p99_ms, (v) => v <= 1),
          'half-load',
        ),
      ],
      [
        '1 → 1,000 routes: DP keeps ≥ 0.95× (anchors §suggested)',
        fmtRatio(drop),
        check(
          verdict(drop, (v) => v >= 0.95),
          '1k-routes',
          'small-keepalive',
        ),
      ],
    ],
  )
  // One line per (target, reason), naming the scenarios it hit.
  const failures = new Map<string, string[]>()
  for (const r of rows.filter((x) => x.error)) {
    const key = `${r.target} not measured: ${r.error?.split('\n')[0]}`
    failures.set(key, [...(failures.get(key) ?? []), r.scenario])
  }
  const allNotes = [...notes, ...[...failures].map(([why, where]) => `${why} (${where.join(', ')})`)]
  if (disturbedRows.length)
    allNotes.push(
      `${disturbedRows.length} of ${rows.length} rows (marked !) ran while something else used > ${DISTURBED * 100}% of a core: their figures and ratios are unreliable; rerun on a quiet machine or with --repeat 3`,
    )
  const head = `proxy suite — ${gen.name}, ${opts.connections} connections, ${opts.durationSec} s per measurement after ${opts.warmupSec} s warm-up`
  return [
    head,
    '',
    results,
    '',
    'Ratios (req/s; DP/1 host = upstream-3’s DP over small-keepalive’s; +p99 = p99 minus direct upstream’s p99 in the same scenario):',
    ratioTable,
    '',
    checks,
    ...(allNotes.length ? ['', ...allNotes.map((n) => `note: ${n}`)] : []),
  ].join('\n')
}
