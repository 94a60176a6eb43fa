/**
 * proxy suite: data-plane throughput and latency against baselines measured in the same run —
 * direct upstream, a minimal node:http + undici proxy, @fastify/http-proxy and nginx proxy_pass (design §9);
 * and the data plane balancing over an upstream of 3 targets against itself on one host.
 */
import { checkTarget } from '../lib/http-check.ts'
import { type LoadGenerator, pickLoadGenerator } from '../lib/load/index.ts'
import { measure } from '../lib/measure.ts'
import type { BenchOptions, Suite, SuiteResult } from '../lib/options.ts'
import { stopAll } from '../lib/processes.ts'
import { note } from '../lib/progress.ts'
import { machineInfo } from '../lib/results.ts'
import { fmtInt } from '../lib/table.ts'
import { type RunningTarget, startTarget, startUpstream, type TargetName } from '../targets/start.ts'
import { type Row, ratios, render } from './proxy-report.ts'
import { type Label, type Scenario, scenarios } from './proxy-scenarios.ts'

async function startAll(
  needed: Set<TargetName>,
  opts: BenchOptions,
): Promise<{ upstream: RunningTarget; running: Map<TargetName, RunningTarget>; failed: Map<TargetName, string> }> {
  note('starting upstream…')
  const upstream = await startUpstream()
  const running = new Map<TargetName, RunningTarget>([['direct', upstream]])
  const failed = new Map<TargetName, string>()
  const profileDir = opts.cpuProf ? `${opts.resultsDir}/profiles/proxy-${Date.now()}` : undefined
  // One at a time: a data plane building 1,000 routes should not race the others' startup.
  for (const name of needed) {
    if (name === 'direct') continue
    note(`starting ${name}…`)
    try {
      const t = await startTarget(name, { upstreamUrl: upstream.url, upstreamPorts: upstream.ports, profileDir })
      running.set(name, t)
      note(`  ${name} at ${t.url}${t.detail ? ` (${t.detail})` : ''}, pid ${t.pid}`)
    } catch (e) {
      const msg = (e as Error).message
      failed.set(name, msg)
      note(`  ${name} not started: ${msg.split('\n')[0]}`)
      if (name.startsWith('turnpike')) process.stderr.write(`${msg}\n`)
    }
  }
  return { upstream, running, failed }
}

async function runScenario(
  s: Scenario,
  gen: LoadGenerator,
  opts: BenchOptions,
  env: { upstream: RunningTarget; running: Map<TargetName, RunningTarget>; failed: Map<TargetName, string> },
  rate: number | undefined,
): Promise<Row[]> {
  const rows: Row[] = []
  note(`scenario ${s.name}: ${s.summary}${rate ? ` — ${fmtInt(rate)} req/s` : ''}`)
  for (const label of s.targets) {
    if (opts.targets && !opts.targets.includes(label)) continue
    const key: TargetName = label === 'turnpike' ? s.dp : label
    const t = env.running.get(key)
    if (!t) {
      rows.push({ scenario: s.name, target: label, error: env.failed.get(key) ?? 'not started' })
      continue
    }
    const problem = await checkTarget(t.url, s.requests, s.bodyBytes, s.headers)
    if (problem) {
      note(`  ${label}: pre-flight failed: ${problem}`)
      rows.push({ scenario: s.name, target: label, error: `pre-flight: ${problem}` })
      continue
    }
    try {
      const m = await measure(
        gen,
        {
          url: t.url,
          requests: s.requests,
          connections: opts.connections,
          durationSec: opts.durationSec,
          headers: s.headers,
          rate,
        },
        {
          label: `${s.name} › ${label}`,
          warmupSec: opts.warmupSec,
          repeat: opts.repeat,
          targetPid: t.pid,
          upstreamPid: env.upstream.pid,
        },
      )
      rows.push({ scenario: s.name, target: label, rate, ...m })
    } catch (e) {
      rows.push({ scenario: s.name, target: label, error: (e as Error).message })
    }
  }
  return rows
}

async function run(opts: BenchOptions): Promise<SuiteResult> {
  const { gen, note: genNote } = pickLoadGenerator(opts.loadgen)
  const notes: string[] = []
  if (genNote) {
    notes.push(genNote)
    note(genNote)
  }
  const chosen = scenarios().filter((s) => !opts.scenarios || opts.scenarios.includes(s.name))
  if (!chosen.length)
    throw new Error(
      `no such scenario; known: ${scenarios()
        .map((s) => s.name)
        .join(', ')}`,
    )
  const needed = new Set<TargetName>()
  for (const s of chosen)
    for (const t of s.targets) if (!opts.targets || opts.targets.includes(t)) needed.add(t === 'turnpike' ? s.dp : t)
  const env = await startAll(needed, opts)
  const rows: Row[] = []
  try {
    for (const s of chosen) {
      if (s.headers?.Connection === 'close' && !gen.connectionClose) {
        notes.push(`${s.name} skipped: ${gen.name} cannot measure a new connection per request soundly (install wrk)`)
        continue
      }
      let rate: number | undefined
      if (s.halfLoad) {
        const max = (t: Label) => rows.find((r) => r.scenario === 'small-keepalive' && r.target === t && !r.error)?.rps
        const base = max('turnpike') ?? max('minimal-proxy')
        if (base === undefined) {
          notes.push(
            'half-load skipped: it needs small-keepalive figures for turnpike or minimal-proxy in the same run',
          )
          continue
        }
        rate = Math.round(base / 2)
        if (gen.resolutionMs >= 1)
          notes.push(`half-load with ${gen.name}: latency resolution is ${gen.resolutionMs} ms`)
      }
      if (s.name === 'upstream-3' && !chosen.some((c) => c.name === 'small-keepalive'))
        notes.push('upstream-3 is compared with small-keepalive’s turnpike: add small-keepalive to --scenario')
      rows.push(...(await runScenario(s, gen, opts, env, rate)))
    }
  } finally {
    note('stopping targets…')
    await stopAll()
  }
  if (opts.cpuProf)
    notes.push(
      `CPU profiles (whole process lifetime, idle included): ${opts.resultsDir}/profiles/proxy-*/<target>.cpuprofile — open in Chrome DevTools › Performance, or compare self time of the busy part`,
    )
  const rr = ratios(
    rows,
    chosen.map((s) => s.name),
  )
  const targets = Object.fromEntries([...env.running].map(([k, t]) => [k, { url: t.url, detail: t.detail }]))
  return {
    text: render(rows, rr, gen, opts, notes),
    data: {
      machine: machineInfo(),
      loadgen: gen.name,
      targets,
      scenarios: chosen.map(({ requests, ...s }) => ({ ...s, distinct_requests: requests.length })),
      measurements: rows,
      ratios: rr,
      notes,
    },
  }
}

export const proxySuite: Suite = {
  name: 'proxy',
  summary: 'DP throughput/latency vs direct, minimal undici proxy, @fastify/http-proxy, nginx (same run)',
  run,
}
