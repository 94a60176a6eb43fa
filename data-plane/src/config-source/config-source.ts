/** Where a data plane's snapshots come from: the CP's gRPC stream or an in-process feed (the disk cache and fallback file at boot). */
import type { Snapshot } from '@turnpike/shared'

export type ApplyResult = { ok: true } | { ok: false; error: string }

/** Applies a snapshot (validate, compile, swap) and says whether it now serves it. */
export type SnapshotHandler = (snapshot: Snapshot) => Promise<ApplyResult>

/** Identifies the config a node serves, for handshakes and heartbeats. */
export interface ConfigRef {
  version: number
  hash: string
}

export type SyncState = 'connected' | 'connecting' | 'disconnected'

export interface SyncStatus {
  state: SyncState
  /** Address of the control plane, or `in-process`. */
  control_plane: string
  /** The last connection, refusal or apply error; cleared by the next success. */
  last_error: string | null
  /** Set while the CP refuses to push config to this node (Kong's sync_status values), and why. */
  refusal?: { sync_status: string; message: string } | null
}

export interface ConfigSource {
  /** Starts delivering snapshots to `onSnapshot`, one at a time; `current` is what the node serves (a delta's base). */
  start(onSnapshot: SnapshotHandler, current: () => Snapshot | undefined): void
  /** Stops delivering and releases connections; the last applied config keeps serving. */
  stop(): Promise<void>
  status(): SyncStatus
}
