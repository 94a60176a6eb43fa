import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  type ConfigEntities,
  compressPayload,
  encodeChangeLines,
  type Logger,
  type Snapshot,
  sealSnapshot,
  snapshotAsChanges,
} from '@turnpike/shared'
import { pino } from 'pino'
import { decodeSnapshotMessage } from './decode-config.ts'
import { bootFromLocalConfig } from './local-config.ts'
import { CACHE_FILE, SnapshotCache } from './snapshot-cache.ts'

const S1 = '00000000-0000-4000-8000-000000000001'
const config = (host: string) =>
  ({ services: [{ id: S1, name: 'svc', host, port: 80, protocol: 'http' }], routes: [] }) as unknown as ConfigEntities

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => out.push(line) })
  return { logger, lines: () => out.map((l) => JSON.parse(l)) }
}

describe('SnapshotCache', () => {
  let prefix: string
  before(async () => {
    prefix = await mkdtemp(join(tmpdir(), 'turnpike-cache-'))
  })
  after(() => rm(prefix, { recursive: true, force: true }))

  it('writes atomically and loads back the same config, verified', async () => {
    const { logger } = capturingLogger()
    const cache = new SnapshotCache({ prefix, logger, minIntervalMs: 0 })
    assert.equal(await cache.load(), undefined)
    const s = sealSnapshot(3, config('one.test'))
    cache.save(s)
    await cache.flush()
    assert.deepEqual(await readdir(prefix), [CACHE_FILE], 'no temp file left behind')
    const loaded = await new SnapshotCache({ prefix, logger }).load()
    assert.equal(loaded?.version, 3)
    assert.equal(loaded?.hash, s.hash)
    assert.deepEqual(loaded?.entities, s.entities)
  })

  it('stores a snapshot received whole in the bytes it arrived in', async () => {
    const s = sealSnapshot(4, config('wire.test'))
    const raw = await encodeChangeLines(snapshotAsChanges(s))
    const payload = await compressPayload(raw, 'rows+gzip')
    const received = await decodeSnapshotMessage(
      {
        version: 4n,
        hash: s.hash,
        partHashes: s.part_hashes,
        encoding: 'rows+gzip',
        payload,
        rawSize: BigInt(raw.length),
      } as never,
      1 << 20,
    )
    const cache = new SnapshotCache({ prefix, logger: capturingLogger().logger, minIntervalMs: 0 })
    cache.save(received)
    await cache.flush()
    const file = await readFile(join(prefix, CACHE_FILE))
    const magic = 'TURNPIKE-CONFIG-CACHE 1\n'.length
    assert.ok(file.subarray(magic, magic + payload.length).equals(payload))
    assert.equal((await cache.load())?.hash, s.hash)
  })

  it('keeps only the newest of snapshots saved in quick succession', async () => {
    const cache = new SnapshotCache({ prefix, logger: capturingLogger().logger, minIntervalMs: 50 })
    const last = sealSnapshot(7, config('seven.test'))
    for (const [v, host] of [
      [5, 'five'],
      [6, 'six'],
    ] as const)
      cache.save(sealSnapshot(v, config(`${host}.test`)))
    cache.save(last)
    await cache.flush()
    assert.equal((await cache.load())?.hash, last.hash)
  })

  it('ignores a corrupt or truncated file with a clear log line', async () => {
    const good = await readFile(join(prefix, CACHE_FILE))
    const flipped = Buffer.from(good)
    flipped[40]! ^= 0xff
    const trailer = Buffer.from(good)
    trailer[trailer.length - 3]! ^= 0x01
    for (const [what, bytes] of [
      ['flipped payload byte', flipped],
      ['damaged trailer', trailer],
      ['truncated', good.subarray(0, good.length - 10)],
      ['garbage', Buffer.from('hello')],
    ] as const) {
      await writeFile(join(prefix, CACHE_FILE), bytes)
      const { logger, lines } = capturingLogger()
      assert.equal(await new SnapshotCache({ prefix, logger }).load(), undefined, what)
      const warning = lines().find((l) => /corrupt or partially written/.test(String(l.msg)))
      assert.ok(warning, `${what}: ${JSON.stringify(lines())}`)
      assert.ok(warning.reason, what)
    }
  })
})

describe('booting from local config', () => {
  let prefix: string
  before(async () => {
    prefix = await mkdtemp(join(tmpdir(), 'turnpike-boot-'))
  })
  after(() => rm(prefix, { recursive: true, force: true }))

  const applied: Snapshot[] = []
  const apply = async (s: Snapshot) => {
    applied.push(s)
    return { ok: true as const }
  }

  it('uses the fallback declarative file when there is no cache, then the cache once written', async () => {
    const { logger } = capturingLogger()
    const file = join(prefix, 'kong.yml')
    await writeFile(
      file,
      '_format_version: "3.0"\nservices:\n  - name: fallback\n    url: http://fallback.test\n    routes:\n      - name: r\n        paths: [/f]\n',
    )
    const cache = new SnapshotCache({ prefix, logger, minIntervalMs: 0 })
    const boot = (declarativeConfig: string) =>
      bootFromLocalConfig({ cache, declarativeConfig, keyringSecret: '', apply, logger })
    assert.equal(await boot(file), 'declarative_config')
    assert.equal(applied.at(-1)?.entities.services?.[0]?.name, 'fallback')
    assert.equal(applied.at(-1)?.version, 0)

    cache.save(sealSnapshot(9, config('cached.test')))
    await cache.flush()
    assert.equal(await boot(file), 'cache', 'the cache wins over the fallback file')
    assert.equal(applied.at(-1)?.version, 9)
  })

  it('stays unready when there is neither, and says so', async () => {
    const { logger, lines } = capturingLogger()
    const empty = await mkdtemp(join(tmpdir(), 'turnpike-boot-'))
    const cache = new SnapshotCache({ prefix: empty, logger })
    const r = await bootFromLocalConfig({
      cache,
      declarativeConfig: join(empty, 'missing.yml'),
      keyringSecret: '',
      apply,
      logger,
    })
    assert.equal(r, undefined)
    assert.ok(lines().some((l) => /could not be loaded/.test(String(l.msg))))
    assert.ok(lines().some((l) => /not ready \(503\)/.test(String(l.msg))))
    await rm(empty, { recursive: true, force: true })
  })
})
