/**
 * A node's proxy workers: `worker_processes` threads sharing the proxy listeners through SO_REUSEPORT (the kernel
 * spreads connections over them; no thread hands sockets on). Starts them, restarts one that dies (the others keep
 * serving), sends every snapshot to all of them, gathers their counters, replaces them all on reload without
 * closing the listening ports, and drains them on shutdown.
 */
import { createServer } from 'node:net'
import type { ListenAddress, Logger, Settings, Snapshot } from '@turnpike/shared'
import type { UpstreamVerdicts } from '../balancer/balancer-registry.ts'
import type { ApplyResult, ConfigRef } from '../config-source/config-source.ts'
import type { MetricSeries } from '../plugins/prometheus/metrics.ts'
import type { ProxyStats } from '../proxy/proxy-server.ts'
import type { FromWorker } from './protocol.ts'
import { type SlotResult, type SlotState, WorkerSlot } from './worker-slot.ts'

export interface ProxyWorkersOptions {
  readonly settings: Settings
  readonly logger: Logger
  readonly logLevel: string
  readonly counters: SharedArrayBuffer
  /** The snapshot the node serves: what a restarted worker starts from. */
  readonly current: () => Snapshot | undefined
  /** The health authority's verdicts on every upstream: what a new worker starts from. */
  readonly verdicts: () => [string, UpstreamVerdicts][]
  /** Workers' proxied outcomes, for the health authority. */
  readonly passive: (outcomes: Extract<FromWorker, { type: 'passive' }>['outcomes']) => void
}

export interface WorkerStatus {
  index: number
  thread_id: number
  state: SlotState
  config_version: number | null
  configuration_hash: string | null
  /** Its counters; null when it did not answer in time. */
  server: ProxyStats | null
}

/** The node's counters (every worker's, summed), each worker's, and the workers' metric series. */
export interface NodeStats {
  server: ProxyStats
  workers: WorkerStatus[]
  series: MetricSeries[]
}

/** A worker that died this soon after starting counts as crash-looping: its restarts back off. */
const CRASH_WINDOW_MS = 10_000
const RESTART_MIN_MS = 100
const RESTART_MAX_MS = 10_000
const STATS_TIMEOUT_MS = 2_000

export class ProxyWorkers {
  readonly #o: ProxyWorkersOptions
  readonly #log: Logger
  #settings: Settings
  /** The current generation, by index. */
  #slots: WorkerSlot[] = []
  /** Older generations still draining. */
  readonly #retiring = new Set<WorkerSlot>()
  /** The proxy listeners as the first worker bound them (port 0 replaced), and what they were configured as. */
  #bound: { configured: string; addresses: ListenAddress[] } | undefined
  readonly #startedAt = new Map<WorkerSlot, number>()
  readonly #restartDelay = new Map<number, number>()
  readonly #restartTimers = new Set<NodeJS.Timeout>()
  #closing = false

  constructor(o: ProxyWorkersOptions) {
    this.#o = o
    this.#settings = o.settings
    this.#log = o.logger.child({ component: 'workers' })
  }

  /** Starts the workers; resolves with the proxy listener URLs once every worker listens. */
  async start(): Promise<string[]> {
    await assertFree(this.#settings.proxy_listen)
    const generation = await this.#generation(this.#settings)
    this.#slots = generation.slots
    this.#log.info({ workers: this.#slots.length, urls: generation.urls }, 'proxy workers serving')
    return generation.urls
  }

  /**
   * Starts a full set of workers on `settings`: the first alone (it binds any port 0), then the rest on the
   * bound ports. A worker that fails to start fails the generation, and the ones started are ended.
   */
  async #generation(settings: Settings): Promise<{ slots: WorkerSlot[]; urls: string[] }> {
    const count = workerCount(settings, this.#log)
    const configured = JSON.stringify(settings.proxy_listen)
    const reusable = this.#bound?.configured === configured ? this.#bound.addresses : undefined
    // Always shared where the platform can: a reload's new generation binds beside the old one.
    const shared = (reusable ?? settings.proxy_listen).map((a) => ({ ...a, reuseport: REUSE_PORT || a.reuseport }))
    const slots: WorkerSlot[] = []
    try {
      const first = this.#spawn(0, settings, shared)
      slots.push(first)
      const { urls, bound } = await first.listening
      this.#bound = { configured, addresses: bound }
      for (let i = 1; i < count; i++) slots.push(this.#spawn(i, settings, bound))
      await Promise.all(slots.map((s) => s.listening))
      return { slots, urls }
    } catch (err) {
      await Promise.all(slots.map((s) => s.terminate()))
      throw err
    }
  }

  #spawn(index: number, settings: Settings, listen: readonly ListenAddress[]): WorkerSlot {
    const current = this.#o.current()
    const slot = new WorkerSlot(
      {
        index,
        settings,
        listen,
        waitForConfig: current !== undefined,
        logLevel: this.#o.logLevel,
        counters: this.#o.counters,
      },
      this.#o.logger,
      { passive: this.#o.passive, exited: (s, code, expected) => this.#exited(s, code, expected) },
    )
    this.#startedAt.set(slot, Date.now())
    slot.verdicts({ type: 'verdicts', upstreams: this.#o.verdicts() })
    if (current !== undefined) void this.#catchUp(slot)
    return slot
  }

  #exited(slot: WorkerSlot, code: number, expected: boolean): void {
    const startedAt = this.#startedAt.get(slot) ?? 0
    this.#startedAt.delete(slot)
    this.#retiring.delete(slot)
    const live = this.#slots[slot.index] === slot
    if (expected || this.#closing || !live) return
    // The node keeps serving on the other workers meanwhile; a worker that keeps dying is restarted ever later.
    const crashLooping = Date.now() - startedAt < CRASH_WINDOW_MS
    const delay = crashLooping
      ? Math.min(RESTART_MAX_MS, (this.#restartDelay.get(slot.index) ?? RESTART_MIN_MS / 2) * 2)
      : RESTART_MIN_MS
    this.#restartDelay.set(slot.index, delay)
    this.#log.error({ worker: slot.index, code, restart_in_ms: delay }, 'proxy worker exited; restarting it')
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer)
      if (this.#closing || this.#slots[slot.index] !== slot || this.#bound === undefined) return
      const next = this.#spawn(slot.index, this.#settings, this.#bound.addresses)
      this.#slots[slot.index] = next
      next.listening.then(
        () => this.#log.info({ worker: slot.index }, 'proxy worker restarted'),
        () => {},
      )
    }, delay)
    this.#restartTimers.add(timer)
  }

  /** Sends the node's current snapshot until the worker serves it (it may change while a send is under way). */
  async #catchUp(slot: WorkerSlot): Promise<void> {
    for (let current = this.#o.current(); current !== undefined; current = this.#o.current()) {
      if (slot.ref?.hash === current.hash && slot.ref.version === current.version) return
      const r = await slot.apply(current)
      if (r === 'gone') return
      if (!r.ok) {
        this.#log.error({ worker: slot.index, error: r.error }, 'proxy worker refused the node’s config')
        return
      }
    }
  }

  /**
   * Sends a snapshot to every worker and waits for them all. An error from any worker is the node's; workers
   * that exited meanwhile do not count (their replacements start from the node's config).
   */
  async apply(snapshot: Snapshot): Promise<ApplyResult> {
    const results: SlotResult[] = await Promise.all(this.#slots.map((s) => s.apply(snapshot)))
    for (const r of results) if (r !== 'gone' && !r.ok) return r
    return { ok: true }
  }

  /** Brings every worker to the node's current snapshot (after an apply some worker refused, or a restart). */
  catchUp(): void {
    for (const slot of this.#slots) void this.#catchUp(slot)
  }

  /** The authority's verdicts on some upstreams, to every worker. */
  verdicts(upstreams: [string, UpstreamVerdicts][]): void {
    for (const slot of this.#live()) slot.verdicts({ type: 'verdicts', upstreams })
  }

  /** Whether every worker of the current generation is up and serving `ref`. */
  allServe(ref: ConfigRef): boolean {
    return (
      this.#slots.length > 0 &&
      this.#slots.every((s) => s.state === 'serving' && s.ref?.hash === ref.hash && s.ref.version === ref.version)
    )
  }

  /** Every live worker's counters, summed for the node (a worker that does not answer in time is left out). */
  async stats(): Promise<NodeStats> {
    const slots = this.#live()
    const answers = await Promise.all(slots.map((s) => s.stats(STATS_TIMEOUT_MS)))
    const server: ProxyStats = { total_requests: 0, connections_active: 0 }
    const series: MetricSeries[] = []
    const workers = slots.map((s, i): WorkerStatus => {
      const a = answers[i]
      if (a !== undefined) {
        server.total_requests += a.proxy.total_requests
        server.connections_active += a.proxy.connections_active
        series.push(a.series)
      }
      return {
        index: s.index,
        thread_id: s.threadId,
        state: s.state,
        config_version: s.ref?.version ?? null,
        configuration_hash: s.ref?.hash ?? null,
        server: a?.proxy ?? null,
      }
    })
    return { server, workers, series }
  }

  /**
   * Replaces every worker with one started on `settings` (a reload): the new generation listens on the same
   * sockets' ports beside the old one and serves the current config before the old one drains, so no
   * connection is refused. Rejects, keeping the old generation, when the new one cannot start.
   */
  async reload(settings: Settings, drainTimeoutMs: number): Promise<void> {
    const old = this.#slots
    // Without SO_REUSEPORT the old generation must let go of the ports first: a short refusal window.
    if (!REUSE_PORT) await Promise.all(old.map((s) => s.drain(drainTimeoutMs)))
    const generation = await this.#generation(settings)
    this.#settings = settings
    this.#slots = generation.slots
    for (const slot of old) this.#retiring.add(slot)
    this.#log.info({ workers: generation.slots.length }, 'proxy workers reloaded; draining the previous ones')
    await Promise.all(old.map((s) => s.drain(drainTimeoutMs)))
  }

  /** Drains every worker: in-flight requests get up to `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true
    for (const timer of this.#restartTimers) clearTimeout(timer)
    this.#restartTimers.clear()
    await Promise.all(this.#live().map((s) => s.drain(timeoutMs)))
  }

  #live(): WorkerSlot[] {
    return [...this.#slots, ...this.#retiring].filter((s) => s.state !== 'exited')
  }
}

/** Linux lets every worker bind the same port (SO_REUSEPORT) and balances connections over them. */
const REUSE_PORT = process.platform === 'linux'

/**
 * Fails as a plain bind would when another process holds a proxy port: SO_REUSEPORT alone would let a second
 * node share it silently.
 */
async function assertFree(addresses: readonly ListenAddress[]): Promise<void> {
  for (const a of addresses) {
    if (a.port === 0) continue
    const probe = createServer()
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen({ port: a.port, host: a.host }, () => probe.close(() => resolve()))
    })
  }
}

/** `worker_processes`, but one where the platform cannot share a listening port between threads. */
function workerCount(settings: Settings, logger: Logger): number {
  if (settings.worker_processes > 1 && process.platform !== 'linux') {
    logger.warn(
      { worker_processes: settings.worker_processes, platform: process.platform },
      'worker_processes > 1 needs SO_REUSEPORT (Linux); running one proxy worker',
    )
    return 1
  }
  return settings.worker_processes
}
