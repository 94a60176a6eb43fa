/**
 * Event-loop stalls while something runs in this process: the longest gap between 1 ms interval ticks (plus
 * perf_hooks.monitorEventLoopDelay), the p99 loop delay, and the longest GC pause — a stall the code itself does
 * not cause. For the DP-side measuring scripts, which run alone in their process.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'

export interface Stalls<T> {
  value: T
  ms: number
  stall_ms: number
  p99_delay_ms: number
  gc_max_ms: number
}

let gcMax = 0
let gcObserved = false

function observeGc(): void {
  if (gcObserved) return
  gcObserved = true
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMax = Math.max(gcMax, e.duration)
  }).observe({ entryTypes: ['gc'] })
}

/** Runs `fn`, timing it and recording the worst stall, minus the 1 ms tick itself. */
export async function withStallProbe<T>(fn: () => Promise<T>): Promise<Stalls<T>> {
  observeGc()
  gcMax = 0
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  let last = performance.now()
  let worst = 0
  const probe = setInterval(() => {
    const t = performance.now()
    worst = Math.max(worst, t - last - 1)
    last = t
  }, 1)
  const started = performance.now()
  const value = await fn()
  const ms = performance.now() - started
  // One more tick, so a stall at the very end is counted too.
  await new Promise((r) => setTimeout(r, 5))
  clearInterval(probe)
  h.disable()
  const stall = Math.max(worst, h.max / 1e6 - 5)
  return { value, ms, stall_ms: stall, p99_delay_ms: h.percentile(99) / 1e6, gc_max_ms: gcMax }
}

/** The figures without the value, for a JSON report. */
export function stallFigures<T>({ value: _, ...m }: Stalls<T>): Omit<Stalls<T>, 'value'> {
  return m
}
