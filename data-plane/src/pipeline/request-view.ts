/** The client request as plugins read it: fields computed on first use, the body read only when asked. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import { clientAddress } from '../http/client-address.ts'
import type { TrustedIps } from '../http/trusted-ips.ts'
import { splitHostPort } from '../router/host.ts'
import type { PluginRequest } from './types.ts'

const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024

/** A body read by a plugin went past its limit. */
export class BodyTooLargeError extends Error {
  readonly limit: number
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`)
    this.limit = limit
  }
}

function decodeComponent(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    return s
  }
}

/**
 * Query string → record; repeated names become arrays, `+` is a space (as form encoding and Kong), a name without
 * `=` has the value ''. Hand-rolled: several times cheaper than URLSearchParams on the hot path, and the record
 * has no prototype, so a `__proto__` argument is just a name.
 */
export function parseQuery(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null)
  let start = 0
  while (start < raw.length) {
    let end = raw.indexOf('&', start)
    if (end === -1) end = raw.length
    if (end > start) {
      const eq = raw.indexOf('=', start)
      const hasValue = eq !== -1 && eq < end
      const k = decodeComponent(raw.slice(start, hasValue ? eq : end))
      const v = hasValue ? decodeComponent(raw.slice(eq + 1, end)) : ''
      const prev = out[k]
      if (prev === undefined) out[k] = v
      else if (Array.isArray(prev)) prev.push(v)
      else out[k] = [prev, v]
    }
    start = end + 1
  }
  return out
}

/** Text fields of a multipart/form-data body (files are skipped). */
function parseMultipart(body: Buffer, contentType: string): Record<string, string> | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  const boundary = m?.[1] ?? m?.[2]
  if (!boundary) return undefined
  const out: Record<string, string> = {}
  for (const part of body.toString('latin1').split(`--${boundary}`)) {
    const head = part.indexOf('\r\n\r\n')
    if (head < 0) continue
    const disposition = /content-disposition:[^\r\n]*\bname="([^"]*)"([^\r\n]*)/i.exec(part.slice(0, head))
    if (!disposition || /filename=/i.test(disposition[2] ?? '')) continue
    const value = part.slice(head + 4).replace(/\r\n$/, '')
    out[Buffer.from(disposition[1] ?? '', 'latin1').toString('utf8')] = Buffer.from(value, 'latin1').toString('utf8')
  }
  return out
}

export class RequestView implements PluginRequest {
  readonly raw: IncomingMessage
  readonly method: string
  readonly scheme: 'http' | 'https'
  readonly path: string
  readonly rawQuery: string
  readonly headers: IncomingHttpHeaders
  captures: RegExpExecArray | null = null
  /** Peers whose X-Real-IP / X-Forwarded-For are believed (Kong's trusted_ips). */
  trusted: TrustedIps | undefined
  #host: { name: string; port: number } | undefined
  #query: Record<string, string | string[]> | undefined
  #clientIp: string | undefined
  #body: Buffer | undefined
  #reading: Promise<Buffer> | undefined
  #parsed: Promise<Record<string, unknown> | undefined> | undefined

  constructor(req: IncomingMessage, scheme: 'http' | 'https', path: string, rawQuery: string) {
    this.raw = req
    this.method = req.method ?? 'GET'
    this.scheme = scheme
    this.path = path
    this.rawQuery = rawQuery
    this.headers = req.headers
  }

  #hostPort(): { name: string; port: number } {
    if (this.#host === undefined) {
      const authority = this.headers[':authority']
      const h = splitHostPort((typeof authority === 'string' ? authority : undefined) ?? this.headers.host ?? '')
      this.#host = { name: h.name, port: h.port ?? this.raw.socket?.localPort ?? 0 }
    }
    return this.#host
  }

  get host(): string {
    return this.#hostPort().name
  }

  get port(): number {
    return this.#hostPort().port
  }

  get query(): Readonly<Record<string, string | string[]>> {
    this.#query ??= parseQuery(this.rawQuery)
    return this.#query
  }

  header(name: string): string | undefined {
    const v = this.headers[name]
    return Array.isArray(v) ? v[0] : v
  }

  /**
   * The client's address: the peer's, or behind a trusted proxy its X-Real-IP, else the rightmost X-Forwarded-For
   * entry that is not itself a trusted proxy (Kong's real_ip handling).
   */
  get clientIp(): string {
    this.#clientIp ??= this.#realIp()
    return this.#clientIp
  }

  #realIp(): string {
    const peer = clientAddress(this.raw)
    const trusted = this.trusted
    if (trusted === undefined || !trusted.has(peer)) return peer
    const real = this.header('x-real-ip')?.trim()
    if (real && isIP(real)) return real
    const forwarded = this.headers['x-forwarded-for']
    if (forwarded === undefined) return peer
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').map((h) => h.trim())
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]
      if (isIP(hop) && !trusted.has(hop)) return hop
    }
    return peer
  }

  get contentLength(): number | undefined {
    const cl = this.headers['content-length']
    if (cl === undefined) return undefined
    const n = Number(cl)
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined
  }

  get hasBody(): boolean {
    const cl = this.headers['content-length']
    return this.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0')
  }

  get body(): Buffer | undefined {
    return this.#body
  }

  readBody(limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
    if (this.#reading) return this.#reading
    const req = this.raw
    this.#reading = new Promise<Buffer>((resolve, reject) => {
      if (!this.hasBody || req.readableEnded) {
        this.#body = Buffer.alloc(0)
        resolve(this.#body)
        return
      }
      const declared = this.contentLength
      if (declared !== undefined && declared > limit) {
        reject(new BodyTooLargeError(limit))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size > limit) {
          cleanup()
          req.pause()
          reject(new BodyTooLargeError(limit))
          return
        }
        chunks.push(chunk)
      }
      const onEnd = () => {
        cleanup()
        this.#body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
        resolve(this.#body)
      }
      const onError = (err: Error) => {
        cleanup()
        reject(err)
      }
      const cleanup = () => {
        req.off('data', onData)
        req.off('end', onEnd)
        req.off('error', onError)
      }
      req.on('data', onData)
      req.on('end', onEnd)
      req.on('error', onError)
    })
    return this.#reading
  }

  parsedBody(limit?: number): Promise<Record<string, unknown> | undefined> {
    this.#parsed ??= this.readBody(limit).then((body) => {
      if (body.length === 0) return undefined
      const type = (this.header('content-type') ?? '').toLowerCase()
      if (type.includes('application/json')) {
        try {
          const v = JSON.parse(body.toString('utf8'))
          return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
        } catch {
          return undefined
        }
      }
      if (type.includes('application/x-www-form-urlencoded')) return parseQuery(body.toString('utf8'))
      if (type.includes('multipart/form-data')) return parseMultipart(body, type)
      return undefined
    })
    return this.#parsed
  }
}
