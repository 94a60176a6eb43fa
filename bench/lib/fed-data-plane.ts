/**
 * What a bench data plane target needs to start: an in-process feed of `entities` (the bench measures serving,
 * not sync), a fresh prefix directory and two free loopback ports. The caller starts the data plane with
 * `options`, and may publish further snapshots, each resolving once the data plane has applied it.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApplyResult, type ConfigSource, type DataPlaneOptions, FeedConfigSource } from '@turnpike/data-plane'
import {
  type ConfigEntities,
  createLogger,
  loadSettings,
  type Snapshot,
  type SnapshotFeed,
  sealSnapshot,
} from '@turnpike/shared'
import { freePort } from './processes.ts'

export interface FedDataPlane {
  snapshot: Snapshot
  /** The prefix directory: the caller removes it on stop. */
  prefix: string
  options: DataPlaneOptions
  /** The data plane's verdict on `snapshot`, once started: ok means it serves it. */
  firstApplied: Promise<ApplyResult>
  /** Makes `next` the feed's snapshot; resolves with the data plane's verdict once it has applied or rejected it. */
  publish(next: Snapshot): Promise<ApplyResult>
}

/** `prefixName` names the temporary prefix directory (a `mkdtemp` template). */
export async function prepareFedDataPlane(entities: ConfigEntities, prefixName: string): Promise<FedDataPlane> {
  const snapshot = sealSnapshot(1, entities)
  let current = snapshot
  const listeners = new Set<(s: Snapshot) => void>()
  const feed: SnapshotFeed = {
    current: () => current,
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  // The feed source as the data plane runs it, with the handler's verdict passed back to whoever published.
  const feedSource = new FeedConfigSource(feed)
  const waiting = new Map<number, (r: ApplyResult) => void>()
  const firstApplied = new Promise<ApplyResult>((resolve) => waiting.set(snapshot.version, resolve))
  const source: ConfigSource = {
    start: (onSnapshot) =>
      feedSource.start(async (s) => {
        const r = await onSnapshot(s)
        waiting.get(s.version)?.(r)
        waiting.delete(s.version)
        return r
      }),
    stop: () => feedSource.stop(),
    status: () => feedSource.status(),
  }
  const publish = (next: Snapshot) =>
    new Promise<ApplyResult>((resolve) => {
      waiting.set(next.version, resolve)
      current = next
      for (const l of listeners) l(next)
    })

  const prefix = mkdtempSync(join(tmpdir(), prefixName))
  const [proxyPort, statusPort] = [await freePort(), await freePort()]
  const settings = loadSettings({
    env: {},
    overrides: {
      role: 'data_plane',
      database: 'off',
      prefix,
      proxy_listen: `127.0.0.1:${proxyPort}`,
      status_listen: `127.0.0.1:${statusPort}`,
      log_level: 'error',
    },
  })
  return { snapshot, prefix, options: { settings, logger: createLogger('error'), source }, firstApplied, publish }
}
