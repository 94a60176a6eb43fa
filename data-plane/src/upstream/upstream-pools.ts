/**
 * One undici Pool per upstream origin (and connect settings), kept alive across snapshots while any live config
 * references it and closed once none does, so a config change does not drop warm keep-alive connections.
 */
import type { Logger } from '@turnpike/shared'
import { Pool } from 'undici'
import type { UpstreamTarget } from './upstream.ts'

interface Entry {
  pool: Pool
  refs: number
}

export class UpstreamPools {
  readonly #entries = new Map<string, Entry>()
  readonly #logger: Logger

  constructor(logger: Logger) {
    this.#logger = logger
  }

  /** Takes a reference on the target's pool, creating it on first use. */
  acquire(target: UpstreamTarget): Pool {
    let entry = this.#entries.get(target.poolKey)
    if (!entry) {
      const pool = new Pool(target.origin, {
        connectTimeout: target.connectTimeout,
        // Kong's tls_verify defaults to off; the service enables it.
        connect: { rejectUnauthorized: target.tlsVerify },
      })
      entry = { pool, refs: 0 }
      this.#entries.set(target.poolKey, entry)
    }
    entry.refs++
    return entry.pool
  }

  /** Drops a reference; the last one closes the pool after its in-flight requests finish. */
  release(poolKey: string): void {
    const entry = this.#entries.get(poolKey)
    if (!entry) return
    if (--entry.refs > 0) return
    this.#entries.delete(poolKey)
    entry.pool
      .close()
      .catch((err: unknown) => this.#logger.warn({ err, pool: poolKey }, 'closing upstream pool failed'))
  }

  get size(): number {
    return this.#entries.size
  }

  /** Closes every pool, destroying those still busy after `timeoutMs`. */
  async closeAll(timeoutMs: number): Promise<void> {
    const pools = [...this.#entries.values()].map((e) => e.pool)
    this.#entries.clear()
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
