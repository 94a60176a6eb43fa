import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { applyChanges, type ConfigEntities, type EntityRow, sealSnapshot } from '@turnpike/shared'
import { ChangeLog } from './change-log.ts'

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const services = (hosts: string[]) =>
  sealSnapshot(0, { services: hosts.map((host, n) => ({ id: id(n), host }) as EntityRow) } as ConfigEntities).entities
const snap = (version: number, hosts: string[]) => sealSnapshot(version, services(hosts))

describe('change log', () => {
  it('composes the changes from any logged version to the latest, and says nothing for unknown ones', async () => {
    const log = new ChangeLog()
    const v1 = snap(1, ['a', 'b', 'c', 'd'])
    const v2 = snap(2, ['a', 'B', 'c', 'd'])
    const v3 = snap(3, ['a', 'B', 'C', 'd'])
    for (const s of [v1, v2, v3]) log.record(s)
    assert.equal(log.size, 2)
    const since1 = log.changesSince(v1, v3)!
    assert.deepEqual(
      since1.services!.upserts.map((r) => r.host),
      ['B', 'C'],
    )
    assert.equal((await applyChanges(v1, since1, 3)).hash, v3.hash)
    assert.equal(log.changesSince({ version: 1, hash: 'other' }, v3), undefined, 'same version, other content')
    assert.equal(log.changesSince(v1, v2), undefined, 'only towards the latest snapshot')
    assert.equal(log.covers(v2, v3), true)
  })

  it('sends the whole config instead when the changes outweigh half of it, or fall out of the bounds', () => {
    const hosts = Array.from({ length: 4000 }, (_, n) => `h${n}`)
    const log = new ChangeLog({ maxEntries: 2 })
    const v1 = snap(1, hosts)
    const v2 = snap(
      2,
      hosts.map((h, n) => (n < 2500 ? `${h}!` : h)),
    )
    log.record(v1)
    log.record(v2)
    assert.equal(log.covers(v1, v2), false, '2,500 of 4,000 rows changed')
    const v3 = snap(
      3,
      [...v2.entities.services!.map((r) => String(r.host))].map((h, n) => (n === 0 ? 'x' : h)),
    )
    const v4 = snap(
      4,
      [...v3.entities.services!.map((r) => String(r.host))].map((h, n) => (n === 1 ? 'y' : h)),
    )
    log.record(v3)
    log.record(v4)
    assert.equal(log.covers(v1, v4), false, 'v1 → v2 fell out of a two-entry log')
    assert.equal(log.covers(v2, v4), true)
  })

  it('diffs only the rows a builder says it read, when it read them against the previous snapshot', async () => {
    const log = new ChangeLog()
    const v1 = snap(1, ['a', 'b'])
    log.record(v1)
    const touched = {
      services: {
        upserts: [
          { id: id(1), host: 'B' },
          { id: id(0), host: 'a' },
        ].reverse(),
        deletes: [],
      },
    }
    const v2 = await applyChanges(v1, touched, 2)
    log.record(v2, { from: v1, changes: touched })
    assert.deepEqual(
      log.changesSince(v1, v2)!.services!.upserts.map((r) => r.host),
      ['B'],
    )
  })
})
