/**
 * The data plane under test for the plugins suite, in its own process: reads the entities the suite generated
 * (services, routes, consumers, credentials, plugins), feeds them in-process, waits until they serve, prints the
 * ready line.
 *
 * Usage: node plugins-target.ts --entities FILE
 */
import { readFileSync, rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { startDataPlane } from '@turnpike/data-plane'
import type { ConfigEntities } from '@turnpike/shared'
import { prepareFedDataPlane } from '../lib/fed-data-plane.ts'
import { announceReady, exitOnStop } from '../targets/lifecycle.ts'

const { values } = parseArgs({ options: { entities: { type: 'string' } } })
if (!values.entities) throw new Error('--entities is required')
const entities = JSON.parse(readFileSync(values.entities, 'utf8')) as ConfigEntities
const { snapshot, prefix, options } = await prepareFedDataPlane(entities, 'turnpike-bench-plugins-')
const started = performance.now()
const dp = await startDataPlane(options)
const deadline = Date.now() + 120_000
for (;;) {
  const res = await fetch(new URL('/status', dp.statusUrl)).catch(() => undefined)
  const status = (await res?.json().catch(() => undefined)) as
    | { configuration_hash: string | null; sync: { last_error: string | null } }
    | undefined
  if (status?.configuration_hash === snapshot.hash) break
  if (status?.sync.last_error) throw new Error(`snapshot rejected: ${status.sync.last_error}`)
  if (Date.now() > deadline) throw new Error('data plane not ready after 120 s')
  await new Promise((r) => setTimeout(r, 50))
}
announceReady({
  url: dp.proxyUrl,
  statusUrl: dp.statusUrl,
  pid: process.pid,
  apply_ms: Math.round(performance.now() - started),
  rss_mb: Math.round(process.memoryUsage().rss / 1024 / 1024),
})
exitOnStop(async () => {
  await dp.close()
  rmSync(prefix, { recursive: true, force: true })
})
