/** One measurement: a discarded warm-up run, then the measured run with the CPU use of everything on the box. */
import { cpuSeconds, machineBusySeconds, reapedChildrenCpuSeconds } from './cpu.ts'
import type { LoadGenerator, LoadResult, LoadSpec } from './load/index.ts'
import { phase } from './progress.ts'
import { fmtInt, fmtNum } from './table.ts'

/** CPU figures are cores in use on average during the measured run (1.0 = one full core). */
export interface Measured extends LoadResult {
  targetCpu?: number
  upstreamCpu?: number
  loadgenCpu?: number
  /** Anything else on the machine (other jobs, the harness, steal): high means a disturbed run. */
  otherCpu?: number
  /** Every measured run when repeated; the figures above are from the least disturbed one. */
  runs?: { rps: number; p99Ms: number; otherCpu?: number }[]
}

interface CpuSample {
  target?: number
  upstream?: number
  loadgen?: number
  machine?: number
}

interface MeasureOptions {
  label: string
  warmupSec: number
  /** Measured runs after the warm-up; the one with the least other CPU is kept. */
  repeat: number
  targetPid?: number
  upstreamPid?: number
}

export async function measure(gen: LoadGenerator, spec: LoadSpec, opts: MeasureOptions): Promise<Measured> {
  if (opts.warmupSec > 0) {
    const done = phase(`${opts.label} warm-up`, opts.warmupSec)
    await gen.run({ ...spec, durationSec: opts.warmupSec })
    done()
  }
  const runs: Measured[] = []
  for (let i = 0; i < opts.repeat; i++)
    runs.push(await measureOnce(gen, spec, opts, opts.repeat > 1 ? ` ${i + 1}/${opts.repeat}` : ''))
  if (runs.length === 1) return runs[0]
  const best = runs.reduce((a, b) => ((b.otherCpu ?? 0) < (a.otherCpu ?? 0) ? b : a))
  return { ...best, runs: runs.map((r) => ({ rps: r.rps, p99Ms: r.p99Ms, otherCpu: r.otherCpu })) }
}

async function measureOnce(gen: LoadGenerator, spec: LoadSpec, opts: MeasureOptions, nth: string): Promise<Measured> {
  const separateUpstream = opts.upstreamPid !== opts.targetPid
  const sample = (): CpuSample => ({
    target: cpuSeconds(opts.targetPid),
    upstream: separateUpstream ? cpuSeconds(opts.upstreamPid) : 0,
    loadgen: reapedChildrenCpuSeconds(),
    machine: machineBusySeconds(),
  })
  const done = phase(`${opts.label} measuring${nth}`, spec.durationSec)
  const before = sample()
  const started = process.hrtime.bigint()
  const r = await gen.run(spec)
  const wall = Number(process.hrtime.bigint() - started) / 1e9
  const after = sample()
  const rate = (k: keyof CpuSample) => {
    const [a, b] = [before[k], after[k]]
    return a === undefined || b === undefined ? undefined : (b - a) / wall
  }
  const [target, upstream, loadgen, machine] = [rate('target'), rate('upstream'), rate('loadgen'), rate('machine')]
  const other =
    machine === undefined || target === undefined || upstream === undefined || loadgen === undefined
      ? undefined
      : Math.max(0, machine - target - upstream - loadgen)
  done(
    `${fmtInt(r.rps)} req/s, p50 ${fmtNum(r.p50Ms, 3)} ms, p99 ${fmtNum(r.p99Ms, 3)} ms${r.errors + r.non2xx ? `, ${r.errors} errors, ${r.non2xx} non-2xx` : ''}`,
  )
  return {
    ...r,
    targetCpu: target,
    upstreamCpu: separateUpstream ? upstream : undefined,
    loadgenCpu: loadgen,
    otherCpu: other,
  }
}
