/**
 * One undici Pool per peer (origin and connect settings), kept alive across snapshots while any live config
 * references it and closed once none does, so a config change does not drop warm keep-alive connections.
 * gRPC peers also get an HTTP/2 session holder, shared the same way.
 */
import type { Logger } from '@turnpike/shared'
import { Pool } from 'undici'
import { H2Origin } from './h2-origin.ts'
import { connectOptions, type Peer } from './peer.ts'

interface Entry {
  pool: Pool
  h2: H2Origin | null
  refs: number
}

export class PeerPools {
  readonly #entries = new Map<string, Entry>()
  readonly #logger: Logger

  constructor(logger: Logger) {
    this.#logger = logger
  }

  /** Takes a reference on the peer's pool (and HTTP/2 origin for gRPC), creating them on first use. */
  acquire(peer: Peer): { pool: Pool; h2: H2Origin | null } {
    let entry = this.#entries.get(peer.poolKey)
    if (!entry) {
      const pool = new Pool(peer.origin, {
        connectTimeout: peer.settings.connectTimeout,
        connect: connectOptions(peer),
        // HTTP/1.1 upstreams, as Kong's proxy_pass; gRPC goes through the HTTP/2 origin.
        allowH2: false,
      })
      entry = { pool, h2: peer.settings.grpc ? new H2Origin(peer, this.#logger) : null, refs: 0 }
      this.#entries.set(peer.poolKey, entry)
    }
    entry.refs++
    return entry
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
