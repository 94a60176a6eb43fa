/**
 * One undici Pool per upstream origin (and connect settings), kept alive across snapshots while any live config
 * references it and closed once none does, so a config change does not drop warm keep-alive connections.
 * gRPC targets also get an HTTP/2 session holder, shared the same way.
 */
import type { Logger } from '@turnpike/shared'
import { Pool } from 'undici'
import { H2Origin } from './h2-origin.ts'
import { connectOptions, type UpstreamTarget } from './upstream.ts'

interface Entry {
  pool: Pool
  h2: H2Origin | null
  refs: number
}

export class UpstreamPools {
  readonly #entries = new Map<string, Entry>()
  readonly #logger: Logger
  /** `upstream_allow_link_local`: whether the SSRF guard is off for every target compiled against these pools. */
  readonly allowLinkLocal: boolean

  constructor(logger: Logger, options: { allowLinkLocal?: boolean } = {}) {
    this.#logger = logger
    this.allowLinkLocal = options.allowLinkLocal ?? false
  }

  /** Takes a reference on the target's pool, creating it on first use. */
  acquire(target: UpstreamTarget): Pool {
    let entry = this.#entries.get(target.poolKey)
    if (!entry) {
      const pool = new Pool(target.origin, {
        connectTimeout: target.connectTimeout,
        connect: connectOptions(target),
        // HTTP/1.1 upstreams, as Kong's proxy_pass; gRPC goes through the HTTP/2 origin.
        allowH2: false,
      })
      entry = { pool, h2: target.grpc ? new H2Origin(target, this.#logger) : null, refs: 0 }
      this.#entries.set(target.poolKey, entry)
    }
    entry.refs++
    return entry.pool
  }

  /** The HTTP/2 origin of an acquired gRPC target. */
  h2(poolKey: string): H2Origin | null {
    return this.#entries.get(poolKey)?.h2 ?? null
  }

  /** Drops a reference; the last one closes the pool after its in-flight requests finish. */
  release(poolKey: string): void {
    const entry = this.#entries.get(poolKey)
    if (!entry) return
    if (--entry.refs > 0) return
    this.#entries.delete(poolKey)
    void entry.h2?.close()
    entry.pool
      .close()
      .catch((err: unknown) => this.#logger.warn({ err, pool: poolKey }, 'closing upstream pool failed'))
  }

  get size(): number {
    return this.#entries.size
  }

  /** Closes every pool, destroying those still busy after `timeoutMs`. */
  async closeAll(timeoutMs: number): Promise<void> {
    const entries = [...this.#entries.values()]
    const pools = entries.map((e) => e.pool)
    this.#entries.clear()
    for (const e of entries) e.h2?.destroy()
    await Promise.all(
      pools.map(async (pool) => {
        let timer: NodeJS.Timeout | undefined
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(resolve, timeoutMs, 'timeout')
        })
        const outcome = await Promise.race([pool.close().then(() => 'closed' as const), deadline])
        clearTimeout(timer)
        if (outcome === 'timeout') await pool.destroy()
      }),
    )
  }
}
