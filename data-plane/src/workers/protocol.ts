/**
 * What a node's main thread and its proxy workers say to each other, one MessagePort per worker. The main thread
 * owns the config source, the health authority, the status listener and the shared rate-limit counters; each
 * worker serves the proxy listeners (shared through SO_REUSEPORT) with its own compiled copy of the config.
 */
import type { ListenAddress, Settings } from '@turnpike/shared'
import type { UpstreamVerdicts } from '../balancer/balancer-registry.ts'
import type { TryOutcome } from '../balancer/types.ts'
import type { ApplyResult, ConfigRef } from '../config-source/config-source.ts'
import type { MetricSeries } from '../plugins/prometheus/metrics.ts'
import type { ProxyStats } from '../proxy/proxy-server.ts'

/** A worker's start-up data (`workerData`). */
export interface WorkerInit {
  /** 0-based, stable across restarts of the same slot (log field `worker`). */
  readonly index: number
  readonly settings: Settings
  /** The proxy listeners, with concrete ports once the first worker has bound them. */
  readonly listen: readonly ListenAddress[]
  /** Open the listeners only once the first snapshot is live (a restarted worker, a reload's new generation). */
  readonly waitForConfig: boolean
  readonly logLevel: string
  /** The node's local rate-limiting counters. */
  readonly counters: SharedArrayBuffer
}

/** Rows per snapshot message: a worker deserializes one message per event-loop turn. */
export const ROWS_PER_MESSAGE = 1000

export type ToWorker =
  /** A snapshot follows as rows messages; `reuse` names collections to take unchanged from the worker's live snapshot. */
  | {
      type: 'snapshot-begin'
      seq: number
      version: number
      hash: string
      part_hashes: Record<string, string>
      reuse: string[]
    }
  /** `rows`: a JSON array of at most ROWS_PER_MESSAGE rows. */
  | { type: 'snapshot-rows'; seq: number; collection: string; rows: string }
  | { type: 'snapshot-end'; seq: number }
  /** The authority's verdicts on some upstreams (all of them for a new worker). */
  | { type: 'verdicts'; upstreams: [upstreamId: string, unhealthy: UpstreamVerdicts][] }
  | { type: 'stats'; id: number }
  /** Stop accepting, finish in-flight requests for up to `timeoutMs`, then answer `drained`. */
  | { type: 'drain'; timeoutMs: number }

export type FromWorker =
  | { type: 'listening'; urls: string[]; bound: ListenAddress[] }
  /** `stale`: the worker's live snapshot was not the base the reused collections came from; send it whole. */
  | { type: 'applied'; seq: number; result: ApplyResult; ref: ConfigRef | undefined; stale?: boolean }
  | { type: 'passive'; outcomes: [upstreamId: string, key: string, outcome: TryOutcome, trial: boolean][] }
  | { type: 'stats'; id: number; proxy: ProxyStats; series: MetricSeries }
  | { type: 'drained' }
  /** The worker could not start (listeners refused, plugins failed to load): it exits after this. */
  | { type: 'failed'; error: string }
