/** A pre-flight request through a target: is it answering 200 with the body the scenario expects? */
import { request } from 'node:http'
import type { LoadRequest } from './workload.ts'

function once(
  url: string,
  r: LoadRequest,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(r.path, url),
      { agent: false, headers: { ...headers, ...(r.host ? { host: r.host } : {}) }, timeout: 5000 },
      (res) => {
        let bytes = 0
        res.on('data', (d: Buffer) => {
          bytes += d.length
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

/** Undefined when every sampled request (up to `sample`, spread over the list) answers 200 with `bytes`; else why not. */
export async function checkTarget(
  url: string,
  requests: LoadRequest[],
  bytes: number,
  headers: Record<string, string> = {},
  sample = 25,
): Promise<string | undefined> {
  const step = Math.max(1, Math.floor(requests.length / sample))
  for (let i = 0; i < requests.length; i += step) {
    const r = requests[i]
    try {
      const res = await once(url, r, headers)
      if (res.status !== 200 || res.bytes !== bytes)
        return `${r.host ?? ''}${r.path} → ${res.status} with ${res.bytes} bytes (expected 200 with ${bytes})`
    } catch (e) {
      return `${r.host ?? ''}${r.path} → ${(e as Error).message}`
    }
  }
  return undefined
}
