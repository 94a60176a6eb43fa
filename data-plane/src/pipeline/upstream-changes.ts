/**
 * Plugins' changes to the upstream request, recorded as they come and applied in one pass over the prepared
 * header list when the request is dispatched.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import type { UpstreamRequest } from './types.ts'

interface HeaderOp {
  /** The name as the plugin spelled it. */
  name: string
  /** null = removed. */
  values: string[] | null
  /** Whether the upstream's existing values are dropped. */
  replace: boolean
}

function encodeQuery(args: Readonly<Record<string, string | readonly string[]>>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(args)) {
    if (typeof v === 'string') p.append(k, v)
    else for (const item of v) p.append(k, item)
  }
  // Kong encodes spaces as %20 in query strings it rebuilds.
  return p.toString().replaceAll('+', '%20')
}

export class UpstreamChanges implements UpstreamRequest {
  readonly #client: IncomingHttpHeaders
  #ops: Map<string, HeaderOp> | null = null
  #path: string
  #rawQuery: string
  #method: string
  #pathChanged = false
  #queryChanged = false
  #methodChanged = false
  #body: Buffer | undefined

  /** `path`/`rawQuery` are the request's until routing computes the upstream ones (`bind`). */
  constructor(clientHeaders: IncomingHttpHeaders, method: string, path: string, rawQuery: string) {
    this.#client = clientHeaders
    this.#method = method
    this.#path = path
    this.#rawQuery = rawQuery
  }

  /** Routing's upstream path and query; changes made before (rewrite phase) win. */
  bind(path: string, rawQuery: string): void {
    if (!this.#pathChanged) this.#path = path
    if (!this.#queryChanged) this.#rawQuery = rawQuery
  }

  #op(name: string): HeaderOp | undefined {
    return this.#ops?.get(name.toLowerCase())
  }

  setHeader(name: string, value: string | number | readonly string[]): void {
    this.#ops ??= new Map()
    const values = typeof value === 'object' ? [...value] : [String(value)]
    this.#ops.set(name.toLowerCase(), { name, values, replace: true })
  }

  addHeader(name: string, value: string): void {
    const op = this.#op(name)
    if (op?.values) op.values.push(value)
    else {
      this.#ops ??= new Map()
      // After a clear, the added value is the only one.
      this.#ops.set(name.toLowerCase(), { name, values: [value], replace: op !== undefined })
    }
  }

  clearHeader(name: string): void {
    this.#ops ??= new Map()
    this.#ops.set(name.toLowerCase(), { name, values: null, replace: true })
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase()
    const op = this.#ops?.get(lower)
    if (op && (op.replace || op.values === null)) return op.values?.[0]
    const v = this.#client[lower]
    return (Array.isArray(v) ? v[0] : v) ?? op?.values?.[0]
  }

  get path(): string {
    return this.#path
  }

  set path(p: string) {
    this.#path = p
    this.#pathChanged = true
  }

  get rawQuery(): string {
    return this.#rawQuery
  }

  set rawQuery(q: string) {
    this.#rawQuery = q.startsWith('?') ? q.slice(1) : q
    this.#queryChanged = true
  }

  setQuery(args: Readonly<Record<string, string | readonly string[]>>): void {
    this.rawQuery = encodeQuery(args)
  }

  get method(): string {
    return this.#method
  }

  set method(m: string) {
    this.#method = m.toUpperCase()
    this.#methodChanged = true
  }

  setBody(body: Buffer | string, contentType?: string): void {
    this.#body = typeof body === 'string' ? Buffer.from(body) : body
    this.setHeader('Content-Length', this.#body.length)
    if (contentType !== undefined) this.setHeader('Content-Type', contentType)
  }

  /**
   * Applies the changes to the dispatch options routing prepared (its flat [name, value, …] header list).
   * `readBody` is the body a plugin read from the client, sent instead of streaming it.
   */
  apply(options: Dispatcher.DispatchOptions, readBody: Buffer | undefined): void {
    if (this.#pathChanged || this.#queryChanged)
      options.path = this.#rawQuery === '' ? this.#path : `${this.#path}?${this.#rawQuery}`
    if (this.#methodChanged) options.method = this.#method
    if (this.#body !== undefined) options.body = this.#body
    else if (readBody !== undefined) options.body = readBody.length ? readBody : null
    const ops = this.#ops
    if (ops === null) return
    const list = options.headers as string[]
    const out: string[] = []
    // Lengths first: most names cannot match any op, and then no lowercased copy is made.
    let minLength = Number.POSITIVE_INFINITY
    let maxLength = 0
    for (const lower of ops.keys()) {
      if (lower.length < minLength) minLength = lower.length
      if (lower.length > maxLength) maxLength = lower.length
    }
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]
      const op = name.length < minLength || name.length > maxLength ? undefined : ops.get(name.toLowerCase())
      if (op === undefined || !op.replace) out.push(name, list[i + 1])
    }
    for (const op of ops.values()) if (op.values) for (const v of op.values) out.push(op.name, v)
    options.headers = out
  }
}
