/**
 * balancer suite helper: what applying many upstreams costs a data plane, in a process of its own so nothing
 * else shares its event loop. Starts a data plane on a one-service config, then applies `--count` services —
 * each behind its own upstream of `--targets` IP targets, or pointed at one host with `--targets 0` (the
 * baseline) — and then a one-entity change (a target's weight, or a service's port). Measures each apply
 * (publish → the data plane's verdict) with the worst event-loop stall, and the RSS / heap growth from before
 * the config was built to after it is live, both after a full GC. Prints one JSON line.
 *
 * Usage: node --expose-gc balancer-apply.ts --count 1000 --targets 10
 */
import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { startDataPlane } from '@turnpike/data-plane'
import { type ConfigEntities, sealSnapshot } from '@turnpike/shared'
import { prepareFedDataPlane } from '../lib/fed-data-plane.ts'
import { stallFigures, withStallProbe } from '../lib/loop-stall.ts'
import { buildApplySet } from '../lib/upstream-set.ts'

const { values } = parseArgs({ options: { count: { type: 'string' }, targets: { type: 'string' } } })
const count = Number(values.count)
const targetsEach = Number(values.targets)
if (!(count >= 1) || !(targetsEach >= 0)) throw new Error('--count N (≥ 1) and --targets N (≥ 0) are required')

async function settledMemory(): Promise<{ rss: number; heap: number }> {
  if (!globalThis.gc) throw new Error('run with --expose-gc: memory deltas need a full GC first')
  // Twice, with a turn in between, so what the first pass only finalized is collected too.
  globalThis.gc()
  await new Promise((r) => setImmediate(r))
  globalThis.gc()
  const m = process.memoryUsage()
  return { rss: m.rss / 1024 ** 2, heap: m.heapUsed / 1024 ** 2 }
}

const fed = await prepareFedDataPlane(buildApplySet(1, 0), 'turnpike-bench-lb-apply-')
const dp = await startDataPlane(fed.options)
const first = await fed.firstApplied
if (!first.ok) throw new Error(`boot snapshot rejected: ${first.error}`)

const before = await settledMemory()
// Only the snapshot keeps the rows alive from here: the growth is what the data plane holds.
const full = sealSnapshot(2, buildApplySet(count, targetsEach))
const fullApply = await withStallProbe(() => fed.publish(full))
if (!fullApply.value.ok) throw new Error(`snapshot rejected: ${fullApply.value.error}`)
const after = await settledMemory()
const balancers = dp.health.report().length

// One entity changes, as an admin edit would: a target's weight, or a service's port.
const entities = full.entities
const changed: ConfigEntities = { ...entities }
if (targetsEach > 0) changed.targets = [{ ...entities.targets[0], weight: 50 }, ...entities.targets.slice(1)]
else changed.services = [{ ...entities.services[0], port: 8081 }, ...entities.services.slice(1)]
const change = sealSnapshot(3, changed)
const changeApply = await withStallProbe(() => fed.publish(change))
if (!changeApply.value.ok) throw new Error(`change rejected: ${changeApply.value.error}`)

process.stdout.write(
  `${JSON.stringify({
    count,
    targets_each: targetsEach,
    rows: Object.values(entities).reduce((n, rows) => n + rows.length, 0),
    balancers,
    full_apply: stallFigures(fullApply),
    change_apply: stallFigures(changeApply),
    rss_delta_mb: after.rss - before.rss,
    heap_delta_mb: after.heap - before.heap,
    rss_mb: after.rss,
    heap_mb: after.heap,
  })}\n`,
)
await dp.close()
rmSync(fed.prefix, { recursive: true, force: true })
process.exit(0)
