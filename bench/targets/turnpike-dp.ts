/**
 * The Turnpike data plane under test, in its own process: builds a snapshot of `--routes` routes pointing at
 * `--upstream` — or, with `--targets`, one route to a service balancing round-robin over an upstream of those
 * `ip:port` targets — feeds it in-process through FeedConfigSource, waits until it is ready, prints the ready line.
 *
 * `--setting name=value` (repeatable) overrides a node setting, e.g. `--setting headers=off --setting headers_upstream=off`.
 *
 * Usage: node turnpike-dp.ts --upstream http://127.0.0.1:PORT [--routes 1|1000] [--targets IP:PORT,IP:PORT,…]
 *        [--setting name=value …]
 */
import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { startDataPlane } from '@turnpike/data-plane'
import { loadSettings, type Settings } from '@turnpike/shared'
import { prepareFedDataPlane } from '../lib/fed-data-plane.ts'
import { buildRouteSet } from '../lib/route-set.ts'
import { balancedRouteSet } from '../lib/upstream-set.ts'
import { announceReady, exitOnStop } from './lifecycle.ts'

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    routes: { type: 'string', default: '1' },
    targets: { type: 'string' },
    setting: { type: 'string', multiple: true, default: [] },
  },
})
if (!values.upstream) throw new Error('--upstream is required')

const entities = values.targets
  ? balancedRouteSet(values.targets.split(','))
  : buildRouteSet(Number(values.routes), values.upstream).entities
const { prefix, options, firstApplied } = await prepareFedDataPlane(entities, 'turnpike-bench-dp-')
if (values.setting.length > 0) {
  const given: Record<string, string> = {}
  for (const pair of values.setting) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new Error(`--setting expects name=value, got '${pair}'`)
    given[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  // Parsed as the node would parse them, then laid over the bench's own settings.
  const parsed = loadSettings({ env: {}, overrides: { role: 'data_plane', database: 'off', ...given } })
  const settings = options.settings as unknown as Record<string, unknown>
  for (const name of Object.keys(given)) settings[name] = parsed[name as keyof Settings]
}
const dp = await startDataPlane(options)

// Ready means the snapshot is live, not merely listening.
const applied = await firstApplied
if (!applied.ok) throw new Error(`snapshot rejected: ${applied.error}`)
announceReady({ url: dp.proxyUrl, statusUrl: dp.statusUrl, routes: entities.routes.length, pid: process.pid })
exitOnStop(async () => {
  await dp.close()
  rmSync(prefix, { recursive: true, force: true })
})
