/**
 * Requests plugins make themselves (JWKS fetches, log shipping): one keep-alive agent whose connections go
 * through the SSRF guard, so a plugin config cannot point the gateway at link-local or metadata addresses.
 */
import { Agent, request } from 'undici'
import { guardedLookup } from '../backend/address-guard.ts'

export const outboundAgent = new Agent({
  connect: { lookup: guardedLookup },
  keepAliveTimeout: 60_000,
  connections: 16,
})

export interface OutboundReply {
  status: number
  body: Buffer
}

/** One request with a whole-response timeout; the body is read (bounded by `maxBytes`). */
export async function outboundRequest(
  url: string,
  opts: {
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH'
    headers?: Record<string, string>
    body?: string | Buffer
    timeoutMs: number
    maxBytes?: number
  },
): Promise<OutboundReply> {
  const signal = AbortSignal.timeout(opts.timeoutMs)
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher: outboundAgent,
    signal,
  })
  const max = opts.maxBytes ?? 1024 * 1024
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length
    if (size > max) {
      res.body.destroy()
      throw new Error(`response from ${url} larger than ${max} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return { status: res.statusCode, body: Buffer.concat(chunks) }
}
