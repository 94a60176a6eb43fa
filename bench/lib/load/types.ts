/** The load-generator seam: wrk when installed, autocannon otherwise. */
import type { LoadRequest } from '../workload.ts'

export interface LoadSpec {
  /** Origin of the target, e.g. http://127.0.0.1:8000. */
  url: string
  /** Cycled through in order by every connection; at least one. */
  requests: LoadRequest[]
  connections: number
  durationSec: number
  /** Extra headers on every request, e.g. `Connection: close` for a new connection per request. */
  headers?: Record<string, string>
  /** Fixed total rate in requests/s (open-ish loop); unset = as fast as possible (closed loop). */
  rate?: number
}

export interface LoadResult {
  requests: number
  durationSec: number
  rps: number
  /** Latency percentiles in milliseconds. */
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  /** Socket errors and timeouts. */
  errors: number
  non2xx: number
}

export interface LoadGenerator {
  name: string
  /** Latency resolution in ms (autocannon only records whole milliseconds). */
  resolutionMs: number
  /** Whether `Connection: close` runs give sound figures (autocannon's reconnects distort its latencies). */
  connectionClose: boolean
  run(spec: LoadSpec): Promise<LoadResult>
}
