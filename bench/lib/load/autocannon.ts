/** autocannon adapter, the fallback when wrk is not installed. Latencies are whole milliseconds. */
import type { Result } from 'autocannon'
import { runNodeChild } from './node-child.ts'
import type { LoadGenerator, LoadResult, LoadSpec } from './types.ts'

export function autocannonGenerator(): LoadGenerator {
  return {
    name: 'autocannon',
    resolutionMs: 1,
    connectionClose: false,
    async run(spec: LoadSpec): Promise<LoadResult> {
      const out = await runNodeChild(new URL('./autocannon-child.ts', import.meta.url), [JSON.stringify(spec)])
      const r = JSON.parse(out) as Result
      const requests = r.requests.total ?? r.requests.average * r.duration
      return {
        requests,
        durationSec: r.duration,
        rps: requests / r.duration,
        p50Ms: r.latency.p50,
        p90Ms: r.latency.p90,
        p99Ms: r.latency.p99,
        maxMs: r.latency.max,
        errors: r.errors,
        non2xx: r.non2xx,
      }
    },
  }
}
