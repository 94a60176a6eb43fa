import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { applyChanges, changeCount, composeChanges, diffSnapshots, diffTouched } from './delta.ts'
import { type ConfigEntities, type EntityRow, sealSnapshot } from './model.ts'
import {
  compressPayload,
  decodeChangeLines,
  decompressChunks,
  decompressPayload,
  encodeChangeLines,
  ROW_ENCODINGS,
  snapshotAsChanges,
} from './row-lines.ts'

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const service = (n: number, host = `s${n}.test`): EntityRow => ({ id: id(n), host, port: 80, tags: null })
const config = (services: EntityRow[], consumers: EntityRow[] = []) => ({ services, consumers }) as ConfigEntities

describe('snapshot deltas', () => {
  const v1 = sealSnapshot(1, config([service(1), service(2), service(3)], [{ id: id(9), username: 'u' }]))
  const v2 = sealSnapshot(
    2,
    config([service(1), service(2, 'changed.test'), service(4)], [{ id: id(9), username: 'u' }]),
  )
  const v3 = sealSnapshot(3, config([service(2, 'changed.test'), service(4), service(5)], []))

  it('diffs only what changed, by id', () => {
    const d = diffSnapshots(v1, v2)
    assert.deepEqual(Object.keys(d), ['services'])
    assert.deepEqual(
      d.services!.upserts.map((r) => r.id),
      [id(2), id(4)],
    )
    assert.deepEqual(d.services!.deletes, [id(3)])
    assert.equal(changeCount(d), 3)
    assert.deepEqual(diffSnapshots(v2, v2), {})
  })

  it('applies a diff back to the same hash, sharing untouched collections', async () => {
    const applied = await applyChanges(v1, diffSnapshots(v1, v2), 2)
    assert.equal(applied.hash, v2.hash)
    assert.deepEqual(applied.entities, v2.entities)
    assert.equal(applied.entities.consumers, v1.entities.consumers, 'an untouched collection is reused as is')
  })

  it('composes consecutive diffs', async () => {
    const composed = composeChanges(diffSnapshots(v1, v2), diffSnapshots(v2, v3))
    assert.equal((await applyChanges(v1, composed, 3)).hash, v3.hash)
    assert.deepEqual(composed.services!.deletes, [id(1), id(3)])
  })

  it('refuses changes out of id order or for unknown collections', async () => {
    await assert.rejects(
      applyChanges(v1, { services: { upserts: [service(5), service(4)], deletes: [] } }, 9),
      /strictly increasing/,
    )
    await assert.rejects(applyChanges(v1, { nope: { upserts: [], deletes: [] } }, 9), /unknown collection/)
  })
})

describe('payload lines', () => {
  const snapshot = sealSnapshot(
    7,
    config([service(1), service(2, 'tab\there "quoted" ✓')], [{ id: id(3), username: 'x' }]),
  )

  it('round-trips a snapshot through every encoding, with digests from the received bytes', async () => {
    const raw = await encodeChangeLines(snapshotAsChanges(snapshot))
    for (const encoding of ROW_ENCODINGS) {
      const payload = await compressPayload(raw, encoding)
      const back = await decompressPayload(payload, encoding, raw.length, 1 << 20)
      const changes = await decodeChangeLines(back)
      const rebuilt = await applyChanges(sealSnapshot(0, {}), changes, 7)
      assert.equal(rebuilt.hash, snapshot.hash, encoding)
    }
  })

  it('streams: decodes chunk by chunk, lines spanning chunks, with the sizes checked', async () => {
    const big = sealSnapshot(
      9,
      config(Array.from({ length: 3000 }, (_, n) => service(n, `host-${n}-${'x'.repeat(n % 97)}.test`))),
    )
    const raw = await encodeChangeLines(snapshotAsChanges(big))
    for (const encoding of ROW_ENCODINGS) {
      const payload = await compressPayload(raw, encoding)
      const changes = await decodeChangeLines(decompressChunks(payload, encoding, raw.length, 1 << 24))
      assert.equal((await applyChanges(sealSnapshot(0, {}), changes, 9)).hash, big.hash, encoding)
      await assert.rejects(
        decodeChangeLines(decompressChunks(payload, encoding, raw.length - 1, 1 << 24)),
        /longer than the/,
      )
      await assert.rejects(decodeChangeLines(decompressChunks(payload, encoding, raw.length + 1, 1 << 24)), /expected/)
    }
    // Arbitrary chunk boundaries, down to one byte.
    async function* pieces(sizes: number[]) {
      let at = 0
      for (let k = 0; at < raw.length; k++) {
        const n = sizes[k % sizes.length]!
        yield raw.subarray(at, at + n)
        at += n
      }
    }
    for (const sizes of [[1], [7, 300, 1], [65536]]) {
      const changes = await decodeChangeLines(pieces(sizes))
      assert.equal((await applyChanges(sealSnapshot(0, {}), changes, 9)).hash, big.hash, String(sizes))
    }
    await assert.rejects(
      decodeChangeLines(decompressChunks(Buffer.from('junk'), 'rows+gzip', 4, 1 << 20)),
      /decompressed/,
    )
  })

  it('encodes deletes and parses them back', async () => {
    const raw = await encodeChangeLines({ services: { upserts: [service(4)], deletes: [id(1)] } })
    assert.equal(raw.toString().split('\n')[1], `-\tservices\t${id(1)}`)
    const changes = await decodeChangeLines(raw)
    assert.deepEqual(changes.services!.deletes, [id(1)])
    assert.equal((await applyChanges(snapshot, changes, 8)).entities.services!.length, 2)
  })

  it('rejects malformed payloads with a message fit for a Nack', async () => {
    await assert.rejects(decodeChangeLines(Buffer.from('?\tservices\t{}\n')), /malformed/)
    await assert.rejects(decodeChangeLines(Buffer.from('+\tgadgets\t{"id":"a"}\n')), /unknown collection 'gadgets'/)
    await assert.rejects(decodeChangeLines(Buffer.from('+\tservices\t{"id":\n')), /payload line 1/)
    await assert.rejects(
      decodeChangeLines(Buffer.from('+\tservices\t{"id":"b"}\n+\tservices\t{"id":"a"}\n')),
      /not in id order/,
    )
    const raw = Buffer.from('+\tservices\t{"id":"a"}\n')
    const payload = await compressPayload(raw, 'rows+gzip')
    await assert.rejects(decompressPayload(payload, 'rows+gzip', raw.length - 1, 1 << 20), /expected/)
    await assert.rejects(decompressPayload(payload, 'rows+gzip', 1 << 21, 1 << 20), /exceeds/)
    await assert.rejects(decompressPayload(payload, 'json+gzip', raw.length, 1 << 20), /unsupported/)
    await assert.rejects(decompressPayload(Buffer.from('junk'), 'rows+zstd', 4, 1 << 20), /decompressed/)
  })
})

describe('applyChanges against a full re-seal', () => {
  it('agrees for random inserts, replacements and deletes, including unknown deletes', async () => {
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let round = 0; round < 50; round++) {
      const rows = new Map<string, EntityRow>()
      for (let k = 0; k < rand(300); k++) rows.set(id(rand(1000)), service(rand(1000)))
      const fix = (m: Map<string, EntityRow>) => [...m].map(([key, r]) => ({ ...r, id: key }))
      const base = sealSnapshot(1, config(fix(rows)))
      const upserts = new Map<string, EntityRow>()
      const deletes = new Set<string>()
      for (let k = 0; k < rand(40); k++) {
        const key = id(rand(1000))
        if (rand(2)) upserts.set(key, { ...service(rand(1000), `r${round}.${k}`), id: key })
        else if (!upserts.has(key)) deletes.add(key)
      }
      const expected = new Map(rows)
      for (const key of deletes) expected.delete(key)
      for (const [key, r] of upserts) expected.set(key, r)
      const byId = (a: EntityRow, b: EntityRow) => (a.id < b.id ? -1 : 1)
      const changes = {
        services: { upserts: [...upserts.values()].sort(byId), deletes: [...deletes].sort() },
      }
      const got = await applyChanges(base, changes, 2)
      assert.equal(got.hash, sealSnapshot(2, config(fix(expected))).hash, `round ${round}`)
    }
  })
})

describe('diffTouched', () => {
  it('equals a full diff when told which rows were written, dropping rows written unchanged', async () => {
    const prev = sealSnapshot(1, config([service(1), service(2), service(3)]))
    const touched = {
      services: { upserts: [service(2), service(4, 'new.test')], deletes: [id(3), id(9)] },
    }
    const next = await applyChanges(prev, touched, 2)
    const strip = (c: ReturnType<typeof diffSnapshots>) =>
      Object.fromEntries(Object.entries(c).map(([k, v]) => [k, { upserts: v.upserts, deletes: v.deletes }]))
    assert.deepEqual(diffTouched(prev, next, touched), strip(diffSnapshots(prev, next)))
    assert.deepEqual(
      diffTouched(prev, next, touched).services?.upserts.map((r) => r.id),
      [id(4)],
    )
  })
})
