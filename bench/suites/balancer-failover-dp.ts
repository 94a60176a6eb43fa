/**
 * balancer suite helper: a data plane balancing one route over an upstream of `--targets`, with active or
 * passive health checks, that records when each proxied request was routed to which target. It watches undici's
 * `undici:request:create` diagnostics channel (every try the data plane dispatches, retries included; the active
 * probes' path is left out) and the data plane's health reports (polled every 5 ms). The harness reads both from a small loopback
 * stats listener after its run.
 *
 * Usage: node balancer-failover-dp.ts --targets IP:PORT,IP:PORT,… --checks active|passive
 * Ready line: { url, statsUrl, pid }; GET statsUrl → { routed: { "ip:port": [ms…] }, health: [{ at, target, health }] }
 * (times are epoch milliseconds, performance.timeOrigin + performance.now(), comparable across processes).
 */
import { subscribe } from 'node:diagnostics_channel'
import { rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { startDataPlane } from '@turnpike/data-plane'
import { prepareFedDataPlane } from '../lib/fed-data-plane.ts'
import { balancedRouteSet } from '../lib/upstream-set.ts'
import { announceReady, exitOnStop } from '../targets/lifecycle.ts'

/** The active probes' path: their tries are not proxied traffic. */
const PROBE_PATH = '/bench-health'

/** Kong `healthchecks` for each mode: active probes every 0.5 s, or passive counting of the proxied tries. */
const CHECKS: Record<string, Record<string, unknown>> = {
  active: {
    active: {
      type: 'http',
      http_path: PROBE_PATH,
      timeout: 1,
      // Kong probes healthy targets at healthy.interval: without it a dead one would only be found by traffic.
      healthy: { interval: 0.5, successes: 2 },
      unhealthy: { interval: 0.5, tcp_failures: 2, http_failures: 2, timeouts: 2 },
    },
  },
  passive: { passive: { unhealthy: { tcp_failures: 3 } } },
}

const { values } = parseArgs({ options: { targets: { type: 'string' }, checks: { type: 'string' } } })
if (!values.targets) throw new Error('--targets is required')
const healthchecks = CHECKS[values.checks ?? '']
if (!healthchecks) throw new Error(`--checks: ${Object.keys(CHECKS).join(' or ')}`)

const now = () => performance.timeOrigin + performance.now()

const routed = new Map<string, number[]>()
subscribe('undici:request:create', (message) => {
  const { request } = message as { request: { origin: string | URL; path: string } }
  if (request.path.startsWith(PROBE_PATH)) return
  const origin = String(request.origin)
  // `http://ip:port` → `ip:port`, the target as configured.
  const key = origin.slice(origin.indexOf('//') + 2).replace(/\/$/, '')
  const times = routed.get(key)
  if (times) times.push(now())
  else routed.set(key, [now()])
})

const entities = balancedRouteSet(values.targets.split(','), { healthchecks }, { retries: 5 })
const { prefix, options, firstApplied } = await prepareFedDataPlane(entities, 'turnpike-bench-lb-')
const dp = await startDataPlane(options)

/** Every change of a target address's health verdict, as the data plane reports it. */
const health: { at: number; target: string; health: string }[] = []
const lastState = new Map<string, string>()
const recordHealth = () => {
  const at = now()
  for (const u of dp.health.report())
    for (const t of u.targets)
      for (const a of t.addresses) {
        const key = `${a.ip}:${a.port}`
        if (lastState.get(key) === a.health) continue
        lastState.set(key, a.health)
        health.push({ at, target: key, health: a.health })
      }
}
// onChange is coalesced (listeners run up to 100 ms after a flip): a 5 ms poll dates each flip closely.
dp.health.onChange(recordHealth)
setInterval(recordHealth, 5).unref()

const stats = createServer((_req, res) => {
  recordHealth()
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ routed: Object.fromEntries(routed), health }))
})
await new Promise<void>((resolve) => stats.listen(0, '127.0.0.1', resolve))

// Ready means the snapshot is live, not merely listening.
const applied = await firstApplied
if (!applied.ok) throw new Error(`snapshot rejected: ${applied.error}`)
recordHealth()
const { port } = stats.address() as AddressInfo
announceReady({ url: dp.proxyUrl, statsUrl: `http://127.0.0.1:${port}/`, pid: process.pid })
exitOnStop(async () => {
  stats.close()
  await dp.close()
  rmSync(prefix, { recursive: true, force: true })
})
