import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type ConfigEntities, sealSnapshot } from '@turnpike/shared'
import { type DataPlaneHello, StreamState } from './stream-state.ts'

const snapshot = (version: number, host = `v${version}.test`) =>
  sealSnapshot(version, { services: [{ id: '00000000-0000-4000-8000-000000000001', host }] } as ConfigEntities)

const hello = (over: Partial<DataPlaneHello> = {}): DataPlaneHello => ({
  node_id: 'dp-1',
  hostname: 'dp-host',
  ip: '10.0.0.7',
  version: '0.1.0',
  labels: { region: 'eu' },
  config_version: 0,
  config_hash: '',
  ...over,
})

describe('sync stream state', () => {
  it('pushes the current snapshot after Hello and records the matching Ack', () => {
    const s = new StreamState(hello())
    const v1 = snapshot(1)
    const push = s.offer(v1)
    assert.equal(push?.snapshot, v1)
    assert.equal(push?.nonce, '1')
    assert.deepEqual(s.status.pending, { version: 1, hash: v1.hash, nonce: '1' })
    assert.equal(s.status.sync_status, 'unknown')

    const r = s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    assert.deepEqual(r, { stale: false, push: undefined })
    assert.equal(s.status.config_version, 1)
    assert.equal(s.status.config_hash, v1.hash)
    assert.equal(s.status.sync_status, 'normal')
    assert.equal(s.status.pending, null)
  })

  it('skips the push when the DP already serves the same hash', () => {
    const v3 = snapshot(3)
    const s = new StreamState(hello({ config_version: 3, config_hash: v3.hash }))
    assert.equal(s.offer(v3), undefined)
    assert.equal(s.status.sync_status, 'normal')
  })

  it('keeps one push in flight and sends only the newest snapshot once answered', () => {
    const s = new StreamState(hello())
    const v1 = snapshot(1)
    s.offer(v1)
    assert.equal(s.offer(snapshot(2)), undefined)
    const v3 = snapshot(3)
    assert.equal(s.offer(v3), undefined)
    const r = s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    assert.equal(r.push?.snapshot, v3)
    assert.equal(r.push?.nonce, '2')
    assert.equal(s.status.config_version, 1)
  })

  it('ignores stale and unknown nonces', () => {
    const s = new StreamState(hello())
    const v1 = snapshot(1)
    s.offer(v1)
    const v2 = snapshot(2)
    s.offer(v2)
    s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    assert.deepEqual(s.ack({ version: 1, hash: v1.hash, nonce: '1' }), { stale: true })
    assert.deepEqual(s.nack({ nonce: '1', error: 'late' }), { stale: true })
    assert.deepEqual(s.ack({ version: 9, hash: 'x', nonce: '77' }), { stale: true })
    assert.equal(s.status.config_version, 1)
    assert.equal(s.status.last_error, null)
    assert.equal(s.status.pending?.nonce, '2')
  })

  it('keeps the DP on its old version after a Nack and does not resend the rejected config', () => {
    const s = new StreamState(hello())
    const v1 = snapshot(1)
    s.offer(v1)
    s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    const v2 = snapshot(2)
    s.offer(v2)
    const r = s.nack({ nonce: '2', error: 'routes.1: invalid regex' })
    assert.deepEqual(r, { stale: false, push: undefined })
    assert.equal(s.status.config_version, 1)
    assert.equal(s.status.config_hash, v1.hash)
    assert.equal(s.status.sync_status, 'config_rejected')
    assert.equal(s.status.last_error, 'routes.1: invalid regex')
    assert.equal(s.offer(v2), undefined, 'the same rejected config is not pushed again')

    const v3 = snapshot(3)
    const next = s.offer(v3)
    assert.equal(next?.snapshot, v3)
    s.ack({ version: 3, hash: v3.hash, nonce: next!.nonce })
    assert.equal(s.status.sync_status, 'normal')
    assert.equal(s.status.last_error, null)
  })

  it('stamps last_seen from its clock and forgets the push in flight on disconnect', () => {
    let now = 1_000_000
    const s = new StreamState(hello(), () => now)
    assert.equal(s.status.last_seen, 1000)
    s.offer(snapshot(1))
    now = 5_000_000
    s.seen()
    assert.equal(s.status.last_seen, 5000)
    s.disconnected()
    assert.equal(s.status.connected, false)
    assert.equal(s.status.pending, null)
  })
})
