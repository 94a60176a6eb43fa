/**
 * What a data plane serves before its control plane answers, in order: its disk cache, else the fallback
 * declarative file (`declarative_config`), else nothing — then it stays not ready (503) rather than serving an
 * empty config that would 404 everything.
 */
import { readFile } from 'node:fs/promises'
import {
  describeDeclarativeErrors,
  type Logger,
  materializeEntities,
  parseDeclarative,
  type Snapshot,
  sealSnapshot,
} from '@turnpike/shared'
import type { ApplyResult } from './config-source.ts'
import type { SnapshotCache } from './snapshot-cache.ts'

export type LocalSource = 'cache' | 'declarative_config'

/** Parses the fallback declarative file into a snapshot (version 0: it is no control plane version). */
export async function declarativeSnapshot(path: string, keyringSecret: string): Promise<Snapshot> {
  const text = await readFile(path, 'utf8')
  const parsed = parseDeclarative(text, { filename: path })
  if (!parsed.ok) throw new Error(describeDeclarativeErrors(parsed.errors).join('; '))
  const materialized = await materializeEntities(parsed.entities, {
    transform: parsed.transform,
    keyringSecret: keyringSecret || undefined,
  })
  if (!materialized.ok) throw new Error(describeDeclarativeErrors(materialized.errors).join('; '))
  return sealSnapshot(0, materialized.entities)
}

/** Applies the first local config that loads and applies; says which one, or undefined when none did. */
export async function bootFromLocalConfig(options: {
  cache: SnapshotCache | undefined
  declarativeConfig: string
  keyringSecret: string
  apply: (snapshot: Snapshot) => Promise<ApplyResult>
  logger: Logger
}): Promise<LocalSource | undefined> {
  const log = options.logger.child({ component: 'boot' })
  const cached = await options.cache?.load()
  if (cached) {
    const r = await options.apply(cached)
    if (r.ok) {
      log.info(
        { version: cached.version, hash: cached.hash },
        'serving the cached config until the control plane answers',
      )
      return 'cache'
    }
    log.warn({ error: r.error }, 'the cached config no longer applies; ignoring it')
  }
  if (options.declarativeConfig) {
    try {
      const snapshot = await declarativeSnapshot(options.declarativeConfig, options.keyringSecret)
      const r = await options.apply(snapshot)
      if (!r.ok) throw new Error(r.error)
      log.info(
        { declarative_config: options.declarativeConfig, hash: snapshot.hash },
        'serving the fallback declarative config until the control plane answers',
      )
      return 'declarative_config'
    } catch (err) {
      log.error(
        { declarative_config: options.declarativeConfig, error: (err as Error).message },
        'the fallback declarative config could not be loaded',
      )
    }
  }
  log.warn('no cached or fallback config: not ready (503) until the control plane sends one')
  return undefined
}
