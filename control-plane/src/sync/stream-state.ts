/**
 * One data plane's sync state, free of any transport: what it serves, what was pushed and not yet answered,
 * and what to send next. At most one push is in flight per DP, so a slow DP is sent only the newest config once
 * it answers, never a backlog. A DP that cannot run a config (version skew, missing plugins) is told so with a
 * Refusal instead of being sent config it would fail on.
 */
import type { Snapshot } from '@turnpike/shared'

/** Kong's `sync_status` values, plus `config_rejected` for a DP that NACKed the newest config. */
export type SyncStatus =
  | 'unknown'
  | 'normal'
  | 'kong_version_incompatible'
  | 'plugin_set_incompatible'
  | 'plugin_version_incompatible'
  | 'config_rejected'

/** A config by identity. */
export interface ConfigRef {
  version: number
  hash: string
}

export interface PluginVersion {
  name: string
  version: string
}

/** What a DP says about itself when its stream opens, plus what the transport knows of it. */
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
  plugins: PluginVersion[]
  capabilities: string[]
  /** Epoch seconds when its cluster certificate expires; null without mTLS. */
  cert_expiry: number | null
}

/** A DP as the CP sees it. */
export interface DataPlaneStatus extends DataPlaneHello {
  sync_status: SyncStatus
  last_error: string | null
  /** Epoch seconds of the last message from the DP (Kong's unit). */
  last_seen: number
  connected: boolean
  /** The push awaiting an answer. */
  pending: { version: number; hash: string; nonce: string; delta: boolean } | null
}

export type Outgoing =
  | { kind: 'snapshot'; snapshot: Snapshot; nonce: string }
  /** Only the changes from `base`, the config the DP holds. */
  | { kind: 'delta'; snapshot: Snapshot; base: ConfigRef; nonce: string }
  | { kind: 'refusal'; sync_status: SyncStatus; message: string; version: number }

export type Refusal = Extract<Outgoing, { kind: 'refusal' }>

/** The outcome of an Ack or Nack: stale answers (not for the push in flight) change nothing. */
export interface AnswerResult {
  stale: boolean
  /** What to send now that the DP is free. */
  next?: Outgoing
}

export interface StreamStateOptions {
  /** The CP's Turnpike version. */
  version: string
  /** Plugin versions the CP knows (its shared definitions), by name. */
  plugins: ReadonlyMap<string, string>
  /** Whether the CP can send the changes from `base` to `snapshot` (its change log covers them). */
  canDelta?: (base: ConfigRef, snapshot: Snapshot) => boolean
  now?: () => number
}

/** Capability a DP announces when it applies Delta messages. */
export const DELTA_CAPABILITY = 'delta'

function majorMinor(version: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version)
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

/** Why a DP of `dpVersion` cannot follow a CP of `cpVersion` (major must match, DP minor ≤ CP minor), if it cannot. */
export function versionSkew(cpVersion: string, dpVersion: string): string | undefined {
  const cp = majorMinor(cpVersion)
  const dp = majorMinor(dpVersion)
  if (!cp || !dp) return `data plane version '${dpVersion}' is not a semantic version`
  if (dp[0] !== cp[0])
    return `data plane version ${dpVersion} has major ${dp[0]}, control plane ${cpVersion} has major ${cp[0]}`
  if (dp[1] > cp[1])
    return `data plane version ${dpVersion} is newer than control plane version ${cpVersion} (minor ${dp[1]} > ${cp[1]})`
  return undefined
}

const configuredPlugins = new WeakMap<Snapshot, string[]>()

/** Names of every plugin the config uses (enabled or not, as Kong checks). */
function pluginsOf(snapshot: Snapshot): string[] {
  let names = configuredPlugins.get(snapshot)
  if (!names) {
    names = [...new Set((snapshot.entities.plugins ?? []).map((p) => String(p.name)))].sort()
    configuredPlugins.set(snapshot, names)
  }
  return names
}

export class StreamState {
  readonly #status: DataPlaneStatus
  readonly #options: StreamStateOptions
  readonly #now: () => number
  readonly #dpPlugins: Map<string, string>
  #latest: Snapshot | undefined
  #rejectedHash: string | undefined
  #refusedHash: string | undefined
  /** After a Nack of a delta, the next push is a full snapshot (deltas resume after the next Ack). */
  #deltaBlocked = false
  #nonces = 0

  constructor(hello: DataPlaneHello, options: StreamStateOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#dpPlugins = new Map(hello.plugins.map((p) => [p.name, p.version]))
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

  /** Read-only view without copying (for metrics over many streams). */
  get view(): Readonly<DataPlaneStatus> {
    return this.#status
  }

  /** The Turnpike version check, done once when the stream opens: a Refusal when the DP cannot follow this CP. */
  handshake(): Refusal | undefined {
    const skew = versionSkew(this.#options.version, this.#status.version)
    if (!skew) return undefined
    this.#status.sync_status = 'kong_version_incompatible'
    this.#status.last_error = skew
    return { kind: 'refusal', sync_status: 'kong_version_incompatible', message: skew, version: 0 }
  }

  /** A new snapshot is current: returns what to send, if the DP needs it and is not busy. */
  offer(snapshot: Snapshot): Outgoing | undefined {
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
    this.#deltaBlocked = false
    return { stale: false, next: this.#next() }
  }

  /** The DP refused the push and keeps serving what it had. */
  nack(answer: { nonce: string; error: string }): AnswerResult {
    if (!this.#answers(answer.nonce)) return { stale: true }
    const pending = this.#status.pending!
    this.#status.pending = null
    this.#status.last_error = answer.error
    // A failed delta says nothing about the config itself (the DP's base may differ): send it whole instead.
    if (pending.delta) this.#deltaBlocked = true
    else {
      this.#rejectedHash = pending.hash
      this.#status.sync_status = 'config_rejected'
    }
    return { stale: false, next: this.#next() }
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

  /** Why the DP cannot run `snapshot` (Kong's plugin checks), if it cannot. */
  #incompatibility(snapshot: Snapshot): { sync_status: SyncStatus; message: string } | undefined {
    const missing = pluginsOf(snapshot).filter((name) => !this.#dpPlugins.has(name))
    if (missing.length)
      return {
        sync_status: 'plugin_set_incompatible',
        message: `configured plugins missing on the data plane: ${missing.join(', ')}`,
      }
    for (const name of pluginsOf(snapshot)) {
      const [cp, dp] = [this.#options.plugins.get(name), this.#dpPlugins.get(name)]
      const [cpMajor, dpMajor] = [majorMinor(cp ?? '')?.[0], majorMinor(dp ?? '')?.[0]]
      if (cp && cpMajor !== dpMajor)
        return {
          sync_status: 'plugin_version_incompatible',
          message: `plugin ${name} is version ${dp} on the data plane, ${cp} on the control plane (major must match)`,
        }
    }
    return undefined
  }

  #next(): Outgoing | undefined {
    const s = this.#latest
    if (!s || this.#status.sync_status === 'kong_version_incompatible') return undefined
    if (s.hash === this.#status.config_hash) {
      // The DP already serves exactly this config (from its cache, or an earlier push).
      if (this.#status.sync_status === 'unknown') this.#status.sync_status = 'normal'
      return undefined
    }
    // Re-sending a config the DP refused would fail the same way; wait for a newer one.
    if (s.hash === this.#rejectedHash) return undefined
    const incompatible = this.#incompatibility(s)
    if (incompatible) {
      Object.assign(this.#status, { sync_status: incompatible.sync_status, last_error: incompatible.message })
      if (s.hash === this.#refusedHash) return undefined
      this.#refusedHash = s.hash
      return { kind: 'refusal', ...incompatible, version: s.version }
    }
    this.#refusedHash = undefined
    const nonce = String(++this.#nonces)
    const base = { version: this.#status.config_version, hash: this.#status.config_hash }
    const delta =
      !this.#deltaBlocked &&
      base.hash !== '' &&
      this.#status.capabilities.includes(DELTA_CAPABILITY) &&
      (this.#options.canDelta?.(base, s) ?? false)
    this.#status.pending = { version: s.version, hash: s.hash, nonce, delta }
    return delta ? { kind: 'delta', snapshot: s, base, nonce } : { kind: 'snapshot', snapshot: s, nonce }
  }
}
