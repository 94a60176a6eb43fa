/**
 * The main thread's handle on one proxy worker thread: starts it, sends it snapshots (one at a time, only the
 * collections it does not already hold), asks for its counters, drains it, and says when it exited.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import type { ListenAddress, Logger, Snapshot } from '@turnpike/shared'
import type { ApplyResult, ConfigRef } from '../config-source/config-source.ts'
import type { MetricSeries } from '../plugins/prometheus/metrics.ts'
import type { ProxyStats } from '../proxy/proxy-server.ts'
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts'
import { chunksOf } from './snapshot-chunks.ts'

const ENTRY = new URL('./worker-main.ts', import.meta.url)
/** Messages posted between two yields of the main thread while sending a snapshot. */
const MESSAGES_PER_TURN = 8
/** How long a drained worker may take to say so beyond its own drain timeout. */
const DRAIN_GRACE_MS = 5_000

export type SlotState = 'starting' | 'serving' | 'draining' | 'exited'

/** An apply's outcome on one worker; `gone` when it exited before answering (its replacement catches up). */
export type SlotResult = ApplyResult | 'gone'

type Applied = Extract<FromWorker, { type: 'applied' }>

export interface SlotHooks {
  passive(outcomes: Extract<FromWorker, { type: 'passive' }>['outcomes']): void
  /** The worker exited; `expected` when it was drained or terminated on purpose. */
  exited(slot: WorkerSlot, code: number, expected: boolean): void
}

export class WorkerSlot {
  readonly index: number
  readonly #worker: Worker
  readonly #log: Logger
  #state: SlotState = 'starting'
  #ref: ConfigRef | undefined
  /** Part hashes of the snapshot the worker serves: equal collections are not sent again. */
  #partHashes: Record<string, string> | undefined
  #seq = 0
  readonly #applies = new Map<number, (m: Applied | undefined) => void>()
  readonly #stats = new Map<number, (m: { proxy: ProxyStats; series: MetricSeries } | undefined) => void>()
  #chain: Promise<unknown> = Promise.resolve()
  #drained: (() => void) | undefined
  #expectedExit = false
  /** Resolves with the worker's listener URLs and bound addresses; rejects if it fails or exits first. */
  readonly listening: Promise<{ urls: string[]; bound: ListenAddress[] }>

  constructor(init: WorkerInit, logger: Logger, hooks: SlotHooks) {
    this.index = init.index
    this.#log = logger.child({ worker: init.index })
    this.#worker = new Worker(ENTRY, { workerData: init, stdout: false, stderr: false })
    let listened: (v: { urls: string[]; bound: ListenAddress[] }) => void
    let refused: (err: Error) => void
    this.listening = new Promise((resolve, reject) => {
      listened = resolve
      refused = reject
    })
    // A caller that never awaits `listening` (a restart) must not see an unhandled rejection.
    this.listening.catch(() => {})
    this.#worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'listening':
          if (this.#state === 'starting') this.#state = 'serving'
          listened({ urls: m.urls, bound: m.bound })
          break
        case 'failed':
          refused(new Error(m.error))
          this.#log.error({ error: m.error }, 'proxy worker could not start')
          void this.#worker.terminate()
          break
        case 'applied':
          this.#applies.get(m.seq)?.(m)
          this.#applies.delete(m.seq)
          break
        case 'passive':
          hooks.passive(m.outcomes)
          break
        case 'stats':
          this.#stats.get(m.id)?.(m)
          this.#stats.delete(m.id)
          break
        case 'drained':
          this.#drained?.()
          break
      }
    })
    this.#worker.on('error', (err) => this.#log.error({ err }, 'proxy worker failed'))
    this.#worker.on('exit', (code) => {
      this.#state = 'exited'
      refused(new Error(`proxy worker ${this.index} exited (code ${code}) before listening`))
      for (const settle of this.#applies.values()) settle(undefined)
      for (const settle of this.#stats.values()) settle(undefined)
      this.#applies.clear()
      this.#stats.clear()
      this.#drained?.()
      hooks.exited(this, code, this.#expectedExit)
    })
  }

  get state(): SlotState {
    return this.#state
  }

  /** The config the worker serves. */
  get ref(): ConfigRef | undefined {
    return this.#ref
  }

  get threadId(): number {
    return this.#worker.threadId
  }

  /** Sends a snapshot and waits for the worker's verdict; sends are queued, one in flight per worker. */
  apply(snapshot: Snapshot): Promise<SlotResult> {
    const run = this.#chain.then(() => this.#transfer(snapshot, false))
    this.#chain = run
    return run
  }

  async #transfer(snapshot: Snapshot, whole: boolean): Promise<SlotResult> {
    if (this.#state === 'exited') return 'gone'
    const seq = ++this.#seq
    const answer = new Promise<Applied | undefined>((resolve) => this.#applies.set(seq, resolve))
    const held = whole ? undefined : this.#partHashes
    const reuse: string[] = []
    const send: string[] = []
    for (const collection of Object.keys(snapshot.entities)) {
      const hash = snapshot.part_hashes[collection]
      if (held !== undefined && hash !== undefined && held[collection] === hash) reuse.push(collection)
      else send.push(collection)
    }
    const { version, hash, part_hashes } = snapshot
    this.#post({ type: 'snapshot-begin', seq, version, hash, part_hashes, reuse })
    let posted = 0
    for (const collection of send)
      for (const rows of chunksOf(snapshot, collection)) {
        if (this.#exited()) return 'gone'
        this.#post({ type: 'snapshot-rows', seq, collection, rows })
        // A big config must not hold the main thread (the Admin API's, on a traditional node) in one turn.
        if (++posted % MESSAGES_PER_TURN === 0) await nextTurn()
      }
    this.#post({ type: 'snapshot-end', seq })
    const reply = await answer
    if (reply === undefined) return 'gone'
    if (reply.stale && !whole) return this.#transfer(snapshot, true)
    this.#ref = reply.ref
    if (reply.result.ok) this.#partHashes = part_hashes
    return reply.result
  }

  /** Sends verdicts of the node's health authority. */
  verdicts(m: Extract<ToWorker, { type: 'verdicts' }>): void {
    if (this.#state !== 'exited') this.#post(m)
  }

  /** The worker's counters, or undefined when it does not answer within `timeoutMs`. */
  stats(timeoutMs: number): Promise<{ proxy: ProxyStats; series: MetricSeries } | undefined> {
    if (this.#state === 'exited') return Promise.resolve(undefined)
    const id = ++this.#seq
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#stats.delete(id)
        resolve(undefined)
      }, timeoutMs)
      this.#stats.set(id, (m) => {
        clearTimeout(timer)
        resolve(m)
      })
      this.#post({ type: 'stats', id })
    })
  }

  /** Lets in-flight requests finish (up to `timeoutMs`), then ends the thread. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#state === 'exited') return
    this.#state = 'draining'
    this.#expectedExit = true
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.#drained = resolve
      timer = setTimeout(resolve, timeoutMs + DRAIN_GRACE_MS)
      this.#post({ type: 'drain', timeoutMs })
    })
    clearTimeout(timer)
    await this.terminate()
  }

  /** Ends the thread at once. */
  async terminate(): Promise<void> {
    this.#expectedExit = true
    if (this.#state === 'exited') return
    await this.#worker.terminate()
  }

  /** Read after an await: the worker may have exited meanwhile. */
  #exited(): boolean {
    return this.#state === 'exited'
  }

  #post(m: ToWorker): void {
    this.#worker.postMessage(m)
  }
}
