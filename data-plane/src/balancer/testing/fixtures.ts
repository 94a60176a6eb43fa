/** Test-only: upstream and target rows with Kong's defaults, members, and a NameResolver driven by hand. */
import type { HealthchecksConfig, TargetRow, UpstreamRow } from '../../runtime/entity-rows.ts'
import type { DnsAnswer, HashInput, Member, NameResolver, ResolvedRecord } from '../types.ts'

/** Kong's healthchecks defaults: everything off. */
export function healthchecks(): HealthchecksConfig {
  return {
    active: {
      type: 'http',
      timeout: 1,
      concurrency: 10,
      http_path: '/',
      https_sni: null,
      https_verify_certificate: true,
      headers: null,
      healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
      unhealthy: {
        interval: 0,
        http_statuses: [429, 404, 500, 501, 502, 503, 504, 505],
        tcp_failures: 0,
        timeouts: 0,
        http_failures: 0,
      },
    },
    passive: {
      type: 'http',
      healthy: {
        http_statuses: [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308],
        successes: 0,
      },
      unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
    },
    threshold: 0,
  }
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K]
}

function merge<T>(base: T, patch: DeepPartial<T> | undefined): T {
  if (patch === undefined) return base
  const out = { ...base } as Record<string, unknown>
  for (const [k, v] of Object.entries(patch)) {
    const b = (base as Record<string, unknown>)[k]
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object'
        ? merge(b, v as DeepPartial<typeof b>)
        : v
  }
  return out as T
}

export function upstreamRow(
  patch: Omit<Partial<UpstreamRow>, 'healthchecks'> & { healthchecks?: DeepPartial<HealthchecksConfig> } = {},
): UpstreamRow {
  const { healthchecks: hc, ...rest } = patch
  return {
    id: 'u1',
    name: 'pool.internal',
    algorithm: 'round-robin',
    hash_on: 'none',
    hash_fallback: 'none',
    hash_on_header: null,
    hash_fallback_header: null,
    hash_on_cookie: null,
    hash_on_cookie_path: '/',
    hash_on_query_arg: null,
    hash_fallback_query_arg: null,
    hash_on_uri_capture: null,
    hash_fallback_uri_capture: null,
    slots: 10000,
    host_header: null,
    client_certificate_id: null,
    use_srv_name: false,
    ...rest,
    healthchecks: merge(healthchecks(), hc),
  }
}

export function targetRow(target: string, weight = 100, id = `t-${target}`, upstreamId = 'u1'): TargetRow {
  return { id, upstream_id: upstreamId, target, weight }
}

/** A bare member for the algorithm tests. */
export function member(key: string, weight = 100): Member {
  const [address, port] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))]
  return { key, targetId: key, target: key, address, port, weight, srvName: undefined, inFlight: 0 }
}

export const everyone = (): boolean => true

/** Request facts from plain values. */
export function hashInput(o: {
  consumer?: string
  ip?: string
  headers?: Record<string, string>
  cookies?: Record<string, string>
  path?: string
  query?: Record<string, string>
  captures?: Record<string, string>
}): HashInput {
  return {
    consumerId: () => o.consumer,
    clientIp: () => o.ip ?? '127.0.0.1',
    header: (name) => o.headers?.[name.toLowerCase()],
    cookie: (name) => o.cookies?.[name],
    path: () => o.path ?? '/',
    queryArg: (name) => o.query?.[name],
    uriCapture: (name) => o.captures?.[name],
  }
}

export function aRecords(...addresses: string[]): ResolvedRecord[] {
  return addresses.map((address) => ({ address, port: undefined, weight: undefined, srvName: undefined }))
}

/** A NameResolver whose answers the test sets; `watching` shows which names are watched, and how many times. */
export class FakeResolver implements NameResolver {
  readonly #answers = new Map<string, DnsAnswer>()
  readonly #watchers = new Map<string, Set<(a: DnsAnswer) => void>>()

  current(name: string): DnsAnswer | undefined {
    return this.#answers.get(name)
  }

  watch(name: string, listener: (answer: DnsAnswer) => void): () => void {
    let set = this.#watchers.get(name)
    if (set === undefined) {
      set = new Set()
      this.#watchers.set(name, set)
    }
    const entry = (a: DnsAnswer) => listener(a)
    set.add(entry)
    return () => {
      set.delete(entry)
      if (set.size === 0) this.#watchers.delete(name)
    }
  }

  /** Sets `name`'s answer and tells its watchers. */
  answer(name: string, answer: DnsAnswer): void {
    this.#answers.set(name, answer)
    for (const l of this.#watchers.get(name) ?? []) l(answer)
  }

  ok(name: string, records: readonly ResolvedRecord[]): void {
    this.answer(name, { ok: true, records })
  }

  fail(name: string, error: string, stale?: readonly ResolvedRecord[]): void {
    this.answer(name, { ok: false, error, stale })
  }

  watching(name: string): number {
    return this.#watchers.get(name)?.size ?? 0
  }

  get watchedNames(): string[] {
    return [...this.#watchers.keys()]
  }
}

/** Polls `check` every 10 ms until it holds, failing after `withinMs`. */
export async function eventually(check: () => boolean, what: string, withinMs = 5000): Promise<void> {
  const until = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
