/**
 * The node's config, held by its main thread: each snapshot is validated once here (the ACK/NACK verdict), the
 * health authority's balancers follow its upstreams, and every proxy worker gets it; the node serves a version
 * only once all its workers do. A refused snapshot leaves the last good one serving everywhere.
 */
import type { Logger, Snapshot } from '@turnpike/shared'
import type { BalancerRegistry } from '../balancer/balancer-registry.ts'
import type { ApplyResult, ConfigRef } from '../config-source/config-source.ts'
import { BALANCER_INPUTS } from '../runtime/compiled-config.ts'
import type { ConfigRows } from '../runtime/entity-rows.ts'
import { samePartHashes, validateSnapshotEntities } from '../runtime/validate-snapshot.ts'
import type { ProxyWorkers } from './proxy-workers.ts'

export class NodeConfig {
  readonly #workers: ProxyWorkers
  readonly #health: BalancerRegistry
  readonly #log: Logger
  #current: Snapshot | undefined
  /** The validated rows of the current snapshot: unchanged collections of the next are not checked again. */
  #rows: ConfigRows | undefined
  #chain: Promise<unknown> = Promise.resolve()
  readonly #listeners: ((snapshot: Snapshot) => void)[] = []

  constructor(workers: ProxyWorkers, health: BalancerRegistry, logger: Logger) {
    this.#workers = workers
    this.#health = health
    this.#log = logger.child({ component: 'config' })
  }

  currentSnapshot(): Snapshot | undefined {
    return this.#current
  }

  currentRef(): ConfigRef | undefined {
    const c = this.#current
    return c && { version: c.version, hash: c.hash }
  }

  /** Whether every worker serves the node's current config. */
  ready(): boolean {
    const ref = this.currentRef()
    return ref !== undefined && this.#workers.allServe(ref)
  }

  /** Calls `listener` after each snapshot goes live on every worker (the disk cache persists it from there). */
  onApplied(listener: (snapshot: Snapshot) => void): void {
    this.#listeners.push(listener)
  }

  /** Validates a snapshot and makes every worker serve it; calls are serialized. */
  apply(snapshot: Snapshot): Promise<ApplyResult> {
    const result = this.#chain.then(async () => {
      try {
        return await this.#apply(snapshot)
      } catch (err) {
        return this.#reject(snapshot, `snapshot could not be applied: ${(err as Error).message}`)
      }
    })
    this.#chain = result
    return result
  }

  async #apply(snapshot: Snapshot): Promise<ApplyResult> {
    const current = this.#current
    let rows = this.#rows
    if (current?.hash !== snapshot.hash) {
      const base = current && rows && { rows, partHashes: current.part_hashes }
      const validation = await validateSnapshotEntities(snapshot.entities, snapshot.part_hashes, base)
      if (!validation.ok) return this.#reject(snapshot, `invalid snapshot: ${validation.errors.join('; ')}`)
      rows = validation.rows
      if (!samePartHashes(snapshot.part_hashes, current?.part_hashes, BALANCER_INPUTS))
        this.#health.update(rows.upstreams, rows.targets)
    }
    const result = await this.#workers.apply(snapshot)
    if (!result.ok) {
      // Workers that took it go back to the last good config.
      this.#workers.catchUp()
      return this.#reject(snapshot, result.error)
    }
    this.#current = snapshot
    this.#rows = rows
    // A worker restarted meanwhile started from the previous config.
    this.#workers.catchUp()
    for (const listener of this.#listeners)
      try {
        listener(snapshot)
      } catch (err) {
        this.#log.error({ err }, 'an applied-config listener failed')
      }
    return { ok: true }
  }

  #reject(snapshot: Snapshot, error: string): ApplyResult {
    this.#log.warn(
      { version: snapshot.version, hash: snapshot.hash, error },
      'snapshot rejected, keeping the current config',
    )
    return { ok: false, error }
  }
}
