/**
 * The one place a snapshot becomes live: validate → compile → swap one immutable reference → report.
 * A rejected snapshot leaves the serving config untouched. Requests lease the config they started with, so a
 * superseded config's backends let their pools go only after its last request finishes.
 */
import type { Logger, Snapshot } from '@turnpike/shared'
import type { ApplyResult, ConfigRef } from '../config-source/config-source.ts'
import {
  BALANCER_INPUTS,
  type CompileDeps,
  type CompiledConfig,
  compileConfig,
  releaseBackends,
  withVersion,
} from './compiled-config.ts'
import { samePartHashes, validateSnapshotEntities } from './validate-snapshot.ts'

export class SnapshotApplier {
  readonly #logger: Logger
  readonly #deps: CompileDeps
  #current: CompiledConfig | undefined
  /** Requests holding the current config. */
  #leases = 0
  /** Superseded configs with requests still in flight, and how many. */
  readonly #retired = new Map<CompiledConfig, number>()
  #chain: Promise<unknown> = Promise.resolve()
  #snapshot: Snapshot | undefined
  readonly #listeners: ((snapshot: Snapshot) => void)[] = []

  constructor(deps: CompileDeps, logger: Logger) {
    this.#deps = deps
    this.#logger = logger.child({ component: 'applier' })
  }

  get current(): CompiledConfig | undefined {
    return this.#current
  }

  /** Version and hash of the serving config, if any. */
  currentRef(): ConfigRef | undefined {
    const c = this.#current
    return c && { version: c.version, hash: c.hash }
  }

  /** The snapshot being served (a delta's base, what the cache holds), if any. */
  currentSnapshot(): Snapshot | undefined {
    return this.#snapshot
  }

  /** Calls `listener` after each snapshot goes live (the disk cache persists it from there). */
  onApplied(listener: (snapshot: Snapshot) => void): void {
    this.#listeners.push(listener)
  }

  /** Validates, compiles and swaps in a snapshot; calls are serialized. */
  apply(snapshot: Snapshot): Promise<ApplyResult> {
    const result = this.#chain.then(async () => {
      // A fresh macrotask: decoding a big snapshot has just used its slice of the event loop.
      await new Promise((resolve) => setImmediate(resolve))
      try {
        const r = await this.#apply(snapshot)
        if (r.ok) this.#applied(snapshot)
        return r
      } catch (err) {
        return this.#reject(snapshot, `snapshot could not be applied: ${(err as Error).message}`)
      }
    })
    this.#chain = result
    return result
  }

  async #apply(snapshot: Snapshot): Promise<ApplyResult> {
    const current = this.#current
    if (current?.hash === snapshot.hash) {
      if (current.version !== snapshot.version) this.#swap(withVersion(current, snapshot.version))
      return { ok: true }
    }
    const started = performance.now()
    // Collections whose part hash equals the live config's are taken as validated; references into changed ones are rechecked.
    const base = current?.partHashes && { rows: current.rows, partHashes: current.partHashes }
    const validation = await validateSnapshotEntities(snapshot.entities, snapshot.part_hashes, base)
    if (!validation.ok) return this.#reject(snapshot, `invalid snapshot: ${validation.errors.join('; ')}`)
    // Validation, the balancers and the rest of compilation each run in turns of their own: requests get through
    // between them (10^3 upstreams take tens of milliseconds to build).
    await new Promise((resolve) => setImmediate(resolve))
    let deps = this.#deps
    const factory = deps.balancers
    if (factory && !samePartHashes(snapshot.part_hashes, current?.partHashes, BALANCER_INPUTS)) {
      const balancers = factory(validation.rows.upstreams, validation.rows.targets)
      deps = { ...deps, balancers: () => balancers }
      await new Promise((resolve) => setImmediate(resolve))
    }
    let next: CompiledConfig
    try {
      next = compileConfig(snapshot.version, snapshot.hash, validation.rows, deps, current, {
        entities: snapshot.entities,
        partHashes: snapshot.part_hashes,
        logger: this.#logger,
      })
    } catch (err) {
      return this.#reject(snapshot, `snapshot failed to compile: ${(err as Error).message}`)
    }
    this.#swap(next)
    this.#logger.info(
      { version: next.version, hash: next.hash, ...next.stats, ms: Math.round(performance.now() - started) },
      'config applied',
    )
    return { ok: true }
  }

  #applied(snapshot: Snapshot): void {
    this.#snapshot = snapshot
    for (const listener of this.#listeners) {
      try {
        listener(snapshot)
      } catch (err) {
        this.#logger.error({ err }, 'an applied-config listener failed')
      }
    }
  }

  #reject(snapshot: Snapshot, error: string): ApplyResult {
    this.#logger.warn(
      { version: snapshot.version, hash: snapshot.hash, error },
      'snapshot rejected, keeping the current config',
    )
    return { ok: false, error }
  }

  #swap(next: CompiledConfig): void {
    const previous = this.#current
    this.#current = next
    if (previous) {
      if (this.#leases === 0) releaseBackends(previous)
      else this.#retired.set(previous, this.#leases)
    }
    this.#leases = 0
  }

  /** Takes the current config for one request; give it back with `release` when the request ends. */
  acquire(): CompiledConfig | undefined {
    const config = this.#current
    if (config) this.#leases++
    return config
  }

  release(config: CompiledConfig): void {
    if (config === this.#current) {
      this.#leases--
      return
    }
    const left = this.#retired.get(config)
    if (left === undefined) return
    if (left > 1) this.#retired.set(config, left - 1)
    else {
      this.#retired.delete(config)
      releaseBackends(config)
    }
  }

  /** Waits for an apply in progress, then drops every config; the pools are closed by their owner. */
  async close(): Promise<void> {
    await this.#chain
    this.#current = undefined
    this.#retired.clear()
    this.#leases = 0
  }
}
