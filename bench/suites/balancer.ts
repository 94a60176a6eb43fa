/**
 * balancer suite: what load balancing over upstreams costs and how fast it reacts, all on 127.0.0.1.
 *  - failover-active / failover-passive: steady open-loop load (lib/load/paced.ts) through a data plane to an
 *    upstream of 3 targets (each its own upstream.ts process); one target is SIGKILLed mid-run. How long after the kill the data plane
 *    still routed tries to it (suites/balancer-failover-dp.ts records every dispatched try), when its health
 *    turned UNHEALTHY, and how many client errors the load generator saw (retries are on: ~0 expected).
 *  - apply-1k-upstreams: 1,000 services each behind an upstream of 10 IP targets against 1,000 services pointed
 *    at hosts (the baseline, same run), each applied in a fresh data plane process (suites/balancer-apply.ts):
 *    apply time, worst event-loop stall, RSS and heap growth, and a one-entity change.
 * Figures are compared within the run; the suite never fails on timing.
 */

import { checkTarget } from '../lib/http-check.ts'
import { type LoadGenerator, type LoadResult, pacedGenerator } from '../lib/load/index.ts'
import type { BenchOptions, Suite, SuiteResult } from '../lib/options.ts'
import { type Child, spawnNodeScript, stopAll } from '../lib/processes.ts'
import { note, phase } from '../lib/progress.ts'
import { machineInfo } from '../lib/results.ts'
import { fmtInt, fmtNum, fmtRatio, formatTable, ratio, verdict } from '../lib/table.ts'
import { SMALL_BODY_BYTES } from '../lib/workload.ts'
import { type RunningTarget, startUpstream } from '../targets/start.ts'

const SCENARIOS = ['failover-active', 'failover-passive', 'apply-1k-upstreams'] as const
type CheckMode = 'active' | 'passive'

/** Steady, far below what a 2-core box saturates at, so the failover is all that moves. */
const RATE = 600
/** Seconds of load before the kill: connections warm, every target seen by the active probes. */
const KILL_AT_SEC = 2
/** A victim last routed to this close to the end of the run may still be in rotation. */
const STILL_ROUTED_MS = 500
const APPLY_SERVICES = 1000
const APPLY_TARGETS = 10

const CHECK_DETAIL: Record<CheckMode, { what: string; bound: string }> = {
  active: { what: 'active (0.5 s, 2 tcp/http failures)', bound: '≈ 2 probes: 0.5–1.0 s' },
  passive: { what: 'passive only (3 tcp failures)', bound: '3 failed tries' },
}

const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Failover {
  checks: CheckMode
  rate: number
  run_sec: number
  kill_at_sec: number
  /** Last try routed to the killed target, ms after the kill (≤ 0: none after it). */
  last_routed_ms?: number
  routed_after_kill: number
  /** The victim was still being tried near the end of the run: the figure is a lower bound. */
  still_routed: boolean
  unhealthy_after_ms?: number
  /** Share of tries per target before the kill, victim first. */
  spread_before_kill: number[]
  /** The trace behind the figures, ms from the kill: the victim's tries (the first 50 and the last) and health changes. */
  victim_tries_ms: number[]
  health_ms: { target: string; health: string; ms: number }[]
  load: LoadResult
}

interface ApplyRun {
  count: number
  targets_each: number
  rows: number
  balancers: number
  full_apply: { ms: number; stall_ms: number; p99_delay_ms: number; gc_max_ms: number }
  change_apply: { ms: number; stall_ms: number; p99_delay_ms: number; gc_max_ms: number }
  rss_delta_mb: number
  heap_delta_mb: number
  rss_mb: number
  heap_mb: number
}

/** Waits for `child` to exit (bounded), returning its output; throws on a non-zero exit or a timeout. */
async function runToExit(child: Child, timeoutMs: number): Promise<string> {
  const timer = setTimeout(() => void child.stop(), timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${child.name} failed (exit ${code}):\n${child.output().slice(-4000)}`)
  return child.output()
}

async function failover(checks: CheckMode, gen: LoadGenerator, opts: BenchOptions): Promise<Failover> {
  const runSec = KILL_AT_SEC + Math.max(3, opts.durationSec)
  note(`failover, ${checks} checks: 3 targets at ${RATE} req/s for ${runSec} s, one killed at ${KILL_AT_SEC} s`)
  // One process per target, so one can die alone.
  const backends: RunningTarget[] = []
  for (let i = 0; i < 3; i++) backends.push(await startUpstream(1))
  const keys = backends.map((b) => `127.0.0.1:${new URL(b.url).port}`)
  const dp = spawnNodeScript('balancer-dp', new URL('./balancer-failover-dp.ts', import.meta.url), [
    '--targets',
    keys.join(','),
    '--checks',
    checks,
  ])
  try {
    const info = await dp.ready()
    const url = String(info.url)
    const problem = await checkTarget(url, [{ path: '/' }], SMALL_BODY_BYTES)
    if (problem) throw new Error(`pre-flight through the data plane failed: ${problem}`)
    const done = phase(`failover-${checks} › load`, runSec)
    const load = gen.run({ url, requests: [{ path: '/' }], connections: 10, durationSec: runSec, rate: RATE })
    await sleep(KILL_AT_SEC * 1000)
    const killedAt = now()
    backends[0].child?.proc.kill('SIGKILL')
    const result = await load
    const endedAt = now()
    const res = await fetch(String(info.statsUrl), { signal: AbortSignal.timeout(5000) })
    const stats = (await res.json()) as {
      routed: Record<string, number[]>
      health: { at: number; target: string; health: string }[]
    }
    const victim = stats.routed[keys[0]] ?? []
    const after = victim.filter((t) => t > killedAt).map((t) => t - killedAt)
    const last = victim.length ? Math.max(...victim) : undefined
    const routedAfter = after.length
    const unhealthy = stats.health.find((h) => h.target === keys[0] && h.health === 'UNHEALTHY' && h.at >= killedAt)
    const before = keys.map((k) => (stats.routed[k] ?? []).filter((t) => t <= killedAt).length)
    const total = before.reduce((a, b) => a + b, 0)
    const out: Failover = {
      checks,
      rate: RATE,
      run_sec: runSec,
      kill_at_sec: KILL_AT_SEC,
      last_routed_ms: last === undefined ? undefined : last - killedAt,
      routed_after_kill: routedAfter,
      still_routed: routedAfter > 0 && last !== undefined && endedAt - last < STILL_ROUTED_MS,
      unhealthy_after_ms: unhealthy ? unhealthy.at - killedAt : undefined,
      spread_before_kill: before.map((n) => (total ? n / total : 0)),
      victim_tries_ms: after.length > 51 ? [...after.slice(0, 50), after[after.length - 1]] : after,
      health_ms: stats.health.map((h) => ({ target: h.target, health: h.health, ms: h.at - killedAt })),
      load: result,
    }
    done(
      `last try to the dead target ${fmtNum(out.last_routed_ms, 1)} ms after the kill (${routedAfter} tries), ${result.errors + result.non2xx} client errors`,
    )
    return out
  } finally {
    await dp.stop()
    await Promise.all(backends.map((b) => b.child?.stop()))
  }
}

async function applyRun(targetsEach: number): Promise<ApplyRun> {
  const label = targetsEach ? `${fmtInt(APPLY_SERVICES)} upstreams × ${targetsEach} targets` : 'hosts (baseline)'
  const done = phase(`apply-1k-upstreams › ${label}`)
  const child = spawnNodeScript(
    'balancer-apply',
    new URL('./balancer-apply.ts', import.meta.url),
    ['--count', String(APPLY_SERVICES), '--targets', String(targetsEach)],
    { nodeArgs: ['--expose-gc'] },
  )
  const output = await runToExit(child, 120_000)
  const line = output.split('\n').find((l) => l.startsWith('{"count"'))
  if (!line) throw new Error(`balancer-apply printed no result:\n${output.slice(-4000)}`)
  const r = JSON.parse(line) as ApplyRun
  done(`apply ${fmtInt(r.full_apply.ms)} ms, worst stall ${fmtNum(r.full_apply.stall_ms, 1)} ms`)
  return r
}

function renderFailover(runs: Failover[]): string {
  const pct = (n: number) => `${Math.round(n * 100)}%`
  return formatTable(
    [
      'health checks',
      'last try to dead target',
      'tries after kill',
      'UNHEALTHY after',
      'expected',
      'client errors',
      'requests',
      'req/s',
      'spread before kill',
    ],
    runs.map((f) => [
      CHECK_DETAIL[f.checks].what,
      f.last_routed_ms === undefined
        ? '–'
        : `${f.still_routed ? '> ' : ''}${fmtNum(Math.max(0, f.last_routed_ms), 1)} ms`,
      fmtInt(f.routed_after_kill),
      f.unhealthy_after_ms === undefined ? 'never seen' : `${fmtNum(f.unhealthy_after_ms, 1)} ms`,
      CHECK_DETAIL[f.checks].bound,
      String(f.load.errors + f.load.non2xx),
      fmtInt(f.load.requests),
      fmtInt(f.load.rps),
      f.spread_before_kill.map(pct).join(' / '),
    ]),
  )
}

function renderApply(base: ApplyRun | undefined, up: ApplyRun | undefined): string {
  const row = (name: string, r: ApplyRun | undefined) =>
    r
      ? [
          name,
          fmtInt(r.rows),
          fmtInt(r.full_apply.ms),
          fmtNum(r.full_apply.stall_ms, 1),
          fmtNum(r.full_apply.gc_max_ms, 1),
          fmtNum(r.rss_delta_mb, 1),
          fmtNum(r.heap_delta_mb, 1),
          fmtNum(r.change_apply.ms, 1),
          fmtNum(r.change_apply.stall_ms, 1),
        ]
      : [name, 'not measured', '–', '–', '–', '–', '–', '–', '–']
  const header = [
    `${fmtInt(APPLY_SERVICES)} services + routes`,
    'rows',
    'apply ms',
    'worst stall ms',
    'longest GC ms',
    'RSS Δ MB',
    'heap Δ MB',
    '1-entity change ms',
    'change stall ms',
  ]
  const table = formatTable(header, [
    row('→ one host each (baseline)', base),
    row(`→ own upstream of ${APPLY_TARGETS} IP targets`, up),
  ])
  const extra = (f: (r: ApplyRun) => number) => (base && up ? f(up) - f(base) : undefined)
  const comparison = formatTable(
    ['upstreams vs hosts', 'measured', 'bound', 'verdict'],
    [
      ['apply time', fmtRatio(ratio(up?.full_apply.ms, base?.full_apply.ms)), '–', '–'],
      ['one-entity change time', fmtRatio(ratio(up?.change_apply.ms, base?.change_apply.ms)), '–', '–'],
      [
        'RSS growth, extra',
        `${fmtNum(
          extra((r) => r.rss_delta_mb),
          1,
        )} MB`,
        '–',
        '–',
      ],
      [
        'heap growth, extra',
        `${fmtNum(
          extra((r) => r.heap_delta_mb),
          1,
        )} MB`,
        '–',
        '–',
      ],
      [
        'worst stall during apply (upstreams)',
        `${fmtNum(up?.full_apply.stall_ms, 1)} ms`,
        '≤ 50 ms (§9 apply bound)',
        verdict(up?.full_apply.stall_ms, (v) => v <= 50),
      ],
      [
        'apply time (upstreams)',
        `${fmtInt(up?.full_apply.ms)} ms`,
        '< 3 s (§9 apply bound)',
        verdict(up?.full_apply.ms, (v) => v < 3000),
      ],
    ],
  )
  const balancers = up ? `; the data plane reported ${fmtInt(up.balancers)} balancers` : ''
  return `${table}\n\n${comparison}\n\nΔ = growth from before the config was built to after it is live, each after a full GC${balancers}`
}

export const balancerSuite: Suite = {
  name: 'balancer',
  summary: 'upstreams: failover time after a target dies (active/passive checks), 1,000×10 targets apply cost',
  async run(opts: BenchOptions): Promise<SuiteResult> {
    const unknown = opts.scenarios?.filter((s) => !(SCENARIOS as readonly string[]).includes(s))
    if (unknown?.length) throw new Error(`no such scenario: ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`)
    const want = (s: string) => !opts.scenarios || opts.scenarios.includes(s)
    const notes: string[] = []
    const failovers: Failover[] = []
    let base: ApplyRun | undefined
    let up: ApplyRun | undefined
    let loadgen: string | undefined
    try {
      if (want('failover-active') || want('failover-passive')) {
        // Steady in time, whatever --loadgen says: autocannon sends each second's quota in one burst.
        const gen = pacedGenerator()
        loadgen = gen.name
        for (const mode of ['active', 'passive'] as const)
          if (want(`failover-${mode}`)) failovers.push(await failover(mode, gen, opts))
      }
      if (want('apply-1k-upstreams')) {
        base = await applyRun(0)
        up = await applyRun(APPLY_TARGETS)
      }
    } finally {
      await stopAll()
    }
    if (failovers.some((f) => f.still_routed))
      notes.push('a "> " figure: the dead target was still tried near the end of the run, so it is a lower bound')
    const parts = ['balancer suite']
    if (failovers.length)
      parts.push(
        `Failover: ${RATE} req/s (${loadgen}) through the data plane to 3 targets, one SIGKILLed after ${KILL_AT_SEC} s; service retries 5. ` +
          'Times are from the kill; "last try" is the last proxied try the data plane dispatched to the dead target.',
        renderFailover(failovers),
      )
    if (base || up) parts.push('Snapshot apply, each config in a fresh data plane process:', renderApply(base, up))
    if (notes.length) parts.push(notes.map((n) => `note: ${n}`).join('\n'))
    return {
      text: parts.join('\n\n'),
      data: { machine: machineInfo(), loadgen, failover: failovers, apply: { hosts: base, upstreams: up }, notes },
    }
  },
}
