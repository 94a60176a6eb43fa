/**
 * cluster suite helper: what a data plane does with a big config, in a process of its own so nothing else
 * shares its event loop. Decodes a full snapshot message (decompress, parse, hash check), applies it (validate,
 * compile, swap), writes the disk cache, then decodes and applies a one-entity delta. Measures each step and the
 * longest event-loop stall (lib/loop-stall.ts), and prints one JSON line.
 *
 * Usage: node cluster-apply.ts --snapshot FILE --delta FILE   (files: JSON meta line, then the payload bytes)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
import { stallFigures, withStallProbe } from '../lib/loop-stall.ts'

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

const logger = createLogger('silent')
const prefix = mkdtempSync(join(tmpdir(), 'turnpike-bench-apply-'))
const applier = new SnapshotApplier({ pools: new PeerPools(logger) }, logger)
const cache = new SnapshotCache({ prefix, logger, minIntervalMs: 0 })
const maxRaw = 4 * 1024 ** 3

const snapshotMessage = load<WireSnapshot>(values.snapshot!)
const rssBefore = process.memoryUsage().rss
const decode = await withStallProbe(() => decodeSnapshotMessage(snapshotMessage, maxRaw))
const apply = await withStallProbe(() => applier.apply(decode.value))
if (!apply.value.ok) throw new Error(`apply failed: ${apply.value.error}`)
const cacheFull = await withStallProbe(async () => {
  cache.save(decode.value)
  await cache.flush()
})

const deltaMessage = load<Delta>(values.delta!)
const deltaDecode = await withStallProbe(() => decodeDeltaMessage(deltaMessage, applier.currentSnapshot(), maxRaw))
const deltaApply = await withStallProbe(() => applier.apply(deltaDecode.value))
if (!deltaApply.value.ok) throw new Error(`delta apply failed: ${deltaApply.value.error}`)
// After a delta there are no received bytes to reuse: the cache is re-encoded (off the hot path).
const cacheDelta = await withStallProbe(async () => {
  cache.save(deltaDecode.value)
  await cache.flush()
})

process.stdout.write(
  `${JSON.stringify({
    full_decode: stallFigures(decode),
    full_apply: stallFigures(apply),
    full_cache_write: stallFigures(cacheFull),
    delta_decode: stallFigures(deltaDecode),
    delta_apply: stallFigures(deltaApply),
    delta_cache_write: stallFigures(cacheDelta),
    rss_mb: process.memoryUsage().rss / 1024 ** 2,
    rss_growth_mb: (process.memoryUsage().rss - rssBefore) / 1024 ** 2,
  })}\n`,
)
await applier.close()
rmSync(prefix, { recursive: true, force: true })
process.exit(0)
