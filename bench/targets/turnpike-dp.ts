/**
 * The Turnpike data plane under test, in its own process: builds a snapshot of `--routes` routes pointing at
 * `--upstream`, feeds it in-process through FeedConfigSource, waits until it is ready, prints the ready line.
 *
 * Usage: node turnpike-dp.ts --upstream http://127.0.0.1:PORT [--routes 1|1000]
 */
import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { startDataPlane } from '@turnpike/data-plane'
import { prepareFedDataPlane } from '../lib/fed-data-plane.ts'
import { buildRouteSet } from '../lib/route-set.ts'
import { announceReady, exitOnStop } from './lifecycle.ts'

const { values } = parseArgs({
  options: { upstream: { type: 'string' }, routes: { type: 'string', default: '1' } },
})
if (!values.upstream) throw new Error('--upstream is required')

const { entities } = buildRouteSet(Number(values.routes), values.upstream)
const { prefix, options } = await prepareFedDataPlane(entities, 'turnpike-bench-dp-')
const dp = await startDataPlane(options)

// Ready means the snapshot is live (/status/ready turns 200), not merely listening.
const deadline = Date.now() + 20_000
for (;;) {
  const res = await fetch(new URL('/status/ready', dp.statusUrl)).catch(() => undefined)
  await res?.body?.cancel()
  if (res?.status === 200) break
  if (Date.now() > deadline) throw new Error(`data plane not ready after 20 s (last status ${res?.status})`)
  await new Promise((r) => setTimeout(r, 50))
}
announceReady({ url: dp.proxyUrl, statusUrl: dp.statusUrl, routes: entities.routes.length, pid: process.pid })
exitOnStop(async () => {
  await dp.close()
  rmSync(prefix, { recursive: true, force: true })
})
