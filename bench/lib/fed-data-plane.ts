/**
 * What a bench data plane target needs to start: a never-changing in-process feed of `entities`, a fresh prefix
 * directory and two free loopback ports. The caller starts the data plane with `options`.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DataPlaneOptions, FeedConfigSource } from '@turnpike/data-plane'
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
}

/** `prefixName` names the temporary prefix directory (a `mkdtemp` template). */
export async function prepareFedDataPlane(entities: ConfigEntities, prefixName: string): Promise<FedDataPlane> {
  const snapshot = sealSnapshot(1, entities)
  /** A feed that never changes: the bench measures serving, not sync. */
  const feed: SnapshotFeed = { current: () => snapshot, subscribe: () => () => {} }

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
  return { snapshot, prefix, options: { settings, logger: createLogger('error'), source: new FeedConfigSource(feed) } }
}
