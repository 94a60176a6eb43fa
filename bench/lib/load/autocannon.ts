/** autocannon adapter, the fallback when wrk is not installed. Latencies are whole milliseconds. */
import { spawn } from 'node:child_process'
import type { Result } from 'autocannon'
import { track } from '../processes.ts'
import type { LoadGenerator, LoadResult, LoadSpec } from './types.ts'

export function autocannonGenerator(): LoadGenerator {
  return {
    name: 'autocannon',
    resolutionMs: 1,
    connectionClose: false,
    async run(spec: LoadSpec): Promise<LoadResult> {
      const script = decodeURIComponent(new URL('./autocannon-child.ts', import.meta.url).pathname)
      const args = [script, JSON.stringify(spec)]
      const out = await new Promise<string>((resolve, reject) => {
        const p = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
        let text = ''
        let err = ''
        p.stdout.on('data', (d: Buffer) => {
          text += d.toString()
        })
        p.stderr.on('data', (d: Buffer) => {
          err += d.toString()
        })
        p.once('error', reject)
        p.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`autocannon exited ${code}: ${err}`))))
      })
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
