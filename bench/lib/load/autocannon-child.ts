/** Runs one autocannon measurement in its own process (so it never shares a loop with the harness) and prints JSON. */
import autocannon from 'autocannon'
import type { LoadSpec } from './types.ts'

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSec,
  timeout: 5,
  headers: spec.headers,
  requests: spec.requests.map((r) => ({ method: 'GET', path: r.path, headers: r.host ? { host: r.host } : undefined })),
  overallRate: spec.rate,
})
process.stdout.write(`${JSON.stringify(result)}\n`)
