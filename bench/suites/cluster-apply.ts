/**
 * cluster suite helper: what a data plane does with a big config, in a process of its own so nothing else
 * shares its event loop. Decodes a full snapshot message (decompress, parse, hash check), applies it (validate,
 * compile, swap), writes the disk cache, then decodes and applies a one-entity delta. Measures each step and the
 * longest event-loop stall (a 1 ms interval probe, plus perf_hooks.monitorEventLoopDelay), and prints one JSON line.
 *
 * Usage: node cluster-apply.ts --snapshot FILE --delta FILE   (files: JSON meta line, then the payload bytes)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import {
  decodeDeltaMessage,
  decodeSnapshotMessage,
  PeerPools,
  SnapshotApplier,
  SnapshotCache,
} from '@turnpike/data-plane'
import type { Delta, Snapshot as WireSnapshot } from '@turnpike/proto'
import { createLogger } from '@turnpike/shared'

const { values } = parseArgs({ options: { snapshot: { type: 'string' }, delta: { type: 'string' } } })

/** A message saved by the suite: a JSON line of its fields (bigints as strings), then the payload. */
function load<T>(file: string): T {
  const buf = readFileSync(file)
  const eol = buf.indexOf(0x0a)
  const meta = JSON.parse(buf.toString('utf8', 0, eol)) as Record<string, unknown>
  const out: Record<string, unknown> = { ...meta, payload: buf.subarray(eol + 1) }
  for (const k of ['version', 'rawSize', 'fromVersion', 'toVersion']) if (k in meta) out[k] = BigInt(meta[k] as string)
  return out as T
}

/** The longest garbage-collection pause since the last reset: a stall the code itself does not cause. */
let gcMax = 0
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMax = Math.max(gcMax, e.duration)
}).observe({ entryTypes: ['gc'] })

interface Measured<T> {
  value: T
  ms: number
  stall_ms: number
  p99_delay_ms: number
  gc_max_ms: number
}

/** The longest gap between 1 ms ticks while `fn` runs, minus the tick itself: the worst stall. */
async function measured<T>(fn: () => Promise<T>): Promise<Measured<T>> {
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

const logger = createLogger('silent')
const prefix = mkdtempSync(join(tmpdir(), 'turnpike-bench-apply-'))
const applier = new SnapshotApplier({ pools: new PeerPools(logger) }, logger)
const cache = new SnapshotCache({ prefix, logger, minIntervalMs: 0 })
const maxRaw = 4 * 1024 ** 3

const snapshotMessage = load<WireSnapshot>(values.snapshot!)
const rssBefore = process.memoryUsage().rss
const decode = await measured(() => decodeSnapshotMessage(snapshotMessage, maxRaw))
const apply = await measured(() => applier.apply(decode.value))
if (!apply.value.ok) throw new Error(`apply failed: ${apply.value.error}`)
const cacheFull = await measured(async () => {
  cache.save(decode.value)
  await cache.flush()
})

const deltaMessage = load<Delta>(values.delta!)
const deltaDecode = await measured(() => decodeDeltaMessage(deltaMessage, applier.currentSnapshot(), maxRaw))
const deltaApply = await measured(() => applier.apply(deltaDecode.value))
if (!deltaApply.value.ok) throw new Error(`delta apply failed: ${deltaApply.value.error}`)
// After a delta there are no received bytes to reuse: the cache is re-encoded (off the hot path).
const cacheDelta = await measured(async () => {
  cache.save(deltaDecode.value)
  await cache.flush()
})

const pick = ({ value: _, ...m }: Measured<unknown>) => m
process.stdout.write(
  `${JSON.stringify({
    full_decode: pick(decode),
    full_apply: pick(apply),
    full_cache_write: pick(cacheFull),
    delta_decode: pick(deltaDecode),
    delta_apply: pick(deltaApply),
    delta_cache_write: pick(cacheDelta),
    rss_mb: process.memoryUsage().rss / 1024 ** 2,
    rss_growth_mb: (process.memoryUsage().rss - rssBefore) / 1024 ** 2,
  })}\n`,
)
await applier.close()
rmSync(prefix, { recursive: true, force: true })
process.exit(0)
