/**
 * The response as plugins see it. Before it exists (access phase) header changes are queued, then applied to
 * whichever response goes out: the upstream's, a plugin's or the gateway's.
 */
import type { ResponseView } from './types.ts'

export type ResponseHeaders = Record<string, string | string[] | number | undefined>

/** A queued change: the value(s) to set or add, or null to remove. */
type Op = { value: string | string[] | null; replace: boolean }

function toValue(value: string | number | readonly string[]): string | string[] {
  return typeof value === 'object' ? [...value] : String(value)
}

function applyOp(headers: ResponseHeaders, lower: string, op: Op): void {
  if (op.value === null) {
    delete headers[lower]
    return
  }
  const prev = headers[lower]
  if (op.replace || prev === undefined) headers[lower] = op.value
  else
    headers[lower] = [
      ...(Array.isArray(prev) ? prev : [String(prev)]),
      ...(Array.isArray(op.value) ? op.value : [op.value]),
    ]
}

export class ResponseState implements ResponseView {
  status = 0
  source: 'upstream' | 'plugin' | 'gateway' | undefined
  /** Lowercased names; set once the response exists. */
  headers: ResponseHeaders | null = null
  #pending: Map<string, Op> | null = null
  bufferRequested = false
  readonly #startedAt: number
  dispatchedAt = 0
  headersAt = 0
  endedAt = 0
  bodyBytes = 0

  constructor(startedAt: number) {
    this.#startedAt = startedAt
  }

  /** The response exists now: queued header changes land on it. */
  attach(status: number, headers: ResponseHeaders, source: 'upstream' | 'plugin' | 'gateway'): void {
    this.status = status
    this.headers = headers
    this.source = source
    if (this.#pending) for (const [lower, op] of this.#pending) applyOp(headers, lower, op)
    this.#pending = null
  }

  #change(name: string, op: Op): void {
    const lower = name.toLowerCase()
    if (this.headers) {
      applyOp(this.headers, lower, op)
      return
    }
    this.#pending ??= new Map()
    const queued = this.#pending.get(lower)
    if (queued?.value != null && op.value !== null && !op.replace) {
      const add = Array.isArray(op.value) ? op.value : [op.value]
      queued.value = [...(Array.isArray(queued.value) ? queued.value : [queued.value]), ...add]
    } else this.#pending.set(lower, op.replace || !queued ? op : { value: op.value, replace: true })
  }

  header(name: string): string | undefined {
    const lower = name.toLowerCase()
    if (this.headers) {
      const v = this.headers[lower]
      return v === undefined ? undefined : Array.isArray(v) ? v[0] : String(v)
    }
    const v = this.#pending?.get(lower)?.value
    return v === null || v === undefined ? undefined : Array.isArray(v) ? v[0] : v
  }

  setHeader(name: string, value: string | number | readonly string[]): void {
    this.#change(name, { value: toValue(value), replace: true })
  }

  addHeader(name: string, value: string): void {
    this.#change(name, { value, replace: false })
  }

  clearHeader(name: string): void {
    this.#change(name, { value: null, replace: true })
  }

  bufferBody(): void {
    this.bufferRequested = true
  }

  get latencies(): { proxy: number; upstream: number; total: number } {
    const end = this.endedAt || performance.now()
    const dispatched = this.dispatchedAt || end
    return {
      proxy: dispatched - this.#startedAt,
      upstream: this.headersAt ? this.headersAt - dispatched : 0,
      total: end - this.#startedAt,
    }
  }
}
