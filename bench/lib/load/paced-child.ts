/**
 * A true open loop at a fixed rate, in its own process: request i leaves at start + i / rate whether or not earlier
 * ones answered (autocannon's rate sends each second's quota in a burst, wrk's pacing is per connection), over an
 * undici keep-alive pool. Prints a LoadResult as JSON. For measurements that need steady traffic in time, such
 * as when a dead target stops being tried.
 */
import { Pool } from 'undici'
import type { LoadResult, LoadSpec } from './types.ts'

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec
if (!spec.rate) throw new Error('the paced load generator needs a rate')
const intervalMs = 1000 / spec.rate
const timeoutMs = 5000
const pool = new Pool(spec.url, {
  connections: spec.connections,
  keepAliveTimeout: 60_000,
  headersTimeout: timeoutMs,
  bodyTimeout: timeoutMs,
})

const latencies: number[] = []
let errors = 0
let non2xx = 0
let inFlight = 0

async function send(i: number): Promise<void> {
  const r = spec.requests[i % spec.requests.length]
  const started = performance.now()
  inFlight++
  try {
    const res = await pool.request({
      path: r.path,
      method: 'GET',
      headers: { ...spec.headers, ...(r.host ? { host: r.host } : {}) },
    })
    await res.body.dump()
    latencies.push(performance.now() - started)
    if (res.statusCode < 200 || res.statusCode > 299) non2xx++
  } catch {
    errors++
  } finally {
    inFlight--
  }
}

const start = performance.now()
const end = start + spec.durationSec * 1000
let sent = 0
// A 1 ms tick sends everything due by now, so a late tick catches up instead of drifting.
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const t = performance.now()
    const due = Math.floor((Math.min(t, end) - start) / intervalMs) + 1
    while (sent < due) void send(sent++)
    if (t >= end) {
      clearInterval(tick)
      resolve()
    }
  }, 1)
})
const sendingSec = (performance.now() - start) / 1000
// Answers still on their way count; a stuck one gives up at the request timeout.
const drainBy = performance.now() + timeoutMs + 1000
while (inFlight > 0 && performance.now() < drainBy) await new Promise((r) => setTimeout(r, 5))
await pool.destroy()

latencies.sort((a, b) => a - b)
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
const result: LoadResult = {
  requests: latencies.length,
  durationSec: sendingSec,
  rps: latencies.length / sendingSec,
  p50Ms: pct(0.5),
  p90Ms: pct(0.9),
  p99Ms: pct(0.99),
  maxMs: latencies[latencies.length - 1] ?? 0,
  errors: errors + inFlight,
  non2xx,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
