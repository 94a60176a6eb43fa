/**
 * One data plane's sync state, free of any transport: what it serves, what was pushed and not yet
 * answered, and what to push next. At most one push is in flight per DP, so a slow DP is sent only
 * the newest snapshot once it answers, never a backlog.
 */
import type { Snapshot } from '@turnpike/shared'

/** Kong's `sync_status` values, plus `config_rejected` for a DP that NACKed the newest config. */
export type SyncStatus = 'unknown' | 'normal' | 'config_rejected'

/** What a DP says about itself when its stream opens. */
export interface DataPlaneHello {
  node_id: string
  hostname: string
  ip: string
  /** Turnpike version of the DP. */
  version: string
  labels: Record<string, string>
  /** The config it already serves (from its cache), if any. */
  config_version: number
  config_hash: string
}

/** A DP as the CP sees it. */
export interface DataPlaneStatus extends DataPlaneHello {
  sync_status: SyncStatus
  last_error: string | null
  /** Epoch seconds of the last message from the DP (Kong's unit). */
  last_seen: number
  connected: boolean
  /** The push awaiting an answer. */
  pending: { version: number; hash: string; nonce: string } | null
}

export interface Push {
  snapshot: Snapshot
  nonce: string
}

/** The outcome of an Ack or Nack: stale answers (not for the push in flight) change nothing. */
export interface AnswerResult {
  stale: boolean
  /** A newer snapshot to send now that the DP is free. */
  push?: Push
}

export class StreamState {
  readonly #status: DataPlaneStatus
  readonly #now: () => number
  #latest: Snapshot | undefined
  #rejectedHash: string | undefined
  #nonces = 0

  constructor(hello: DataPlaneHello, now: () => number = Date.now) {
    this.#now = now
    this.#status = {
      ...hello,
      sync_status: 'unknown',
      last_error: null,
      last_seen: this.#seconds(),
      connected: true,
      pending: null,
    }
  }

  get nodeId(): string {
    return this.#status.node_id
  }

  /** A copy of the current state, safe to serialize. */
  get status(): DataPlaneStatus {
    return structuredClone(this.#status)
  }

  /** A new snapshot is current: returns the push to send, if the DP needs it and is not busy. */
  offer(snapshot: Snapshot): Push | undefined {
    this.#latest = snapshot
    return this.#status.pending ? undefined : this.#next()
  }

  ack(answer: { version: number; hash: string; nonce: string }): AnswerResult {
    if (!this.#answers(answer.nonce)) return { stale: true }
    Object.assign(this.#status, {
      config_version: answer.version,
      config_hash: answer.hash,
      sync_status: 'normal',
      last_error: null,
      pending: null,
    })
    this.#rejectedHash = undefined
    return { stale: false, push: this.#next() }
  }

  /** The DP refused the push and keeps serving what it had. */
  nack(answer: { nonce: string; error: string }): AnswerResult {
    if (!this.#answers(answer.nonce)) return { stale: true }
    this.#rejectedHash = this.#status.pending?.hash
    Object.assign(this.#status, { sync_status: 'config_rejected', last_error: answer.error, pending: null })
    return { stale: false, push: this.#next() }
  }

  /** Any message proves the DP alive. */
  seen(): void {
    this.#status.last_seen = this.#seconds()
  }

  disconnected(): void {
    this.#status.connected = false
    this.#status.pending = null
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000)
  }

  #answers(nonce: string): boolean {
    this.seen()
    return this.#status.pending?.nonce === nonce
  }

  #next(): Push | undefined {
    const s = this.#latest
    if (!s) return undefined
    if (s.hash === this.#status.config_hash) {
      // The DP already serves exactly this config (from its cache, or an earlier push).
      if (this.#status.sync_status === 'unknown') this.#status.sync_status = 'normal'
      return undefined
    }
    // Re-sending a config the DP refused would fail the same way; wait for a newer one.
    if (s.hash === this.#rejectedHash) return undefined
    const nonce = String(++this.#nonces)
    this.#status.pending = { version: s.version, hash: s.hash, nonce }
    return { snapshot: s, nonce }
  }
}
