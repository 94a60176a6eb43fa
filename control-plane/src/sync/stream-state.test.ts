import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type ConfigEntities, sealSnapshot } from '@turnpike/shared'
import {
  type DataPlaneHello,
  DELTA_CAPABILITY,
  type Outgoing,
  StreamState,
  type StreamStateOptions,
  versionSkew,
} from './stream-state.ts'

const snapshot = (version: number, host = `v${version}.test`, plugins: string[] = []) =>
  sealSnapshot(version, {
    services: [{ id: '00000000-0000-4000-8000-000000000001', host }],
    plugins: plugins.map((name, i) => ({ id: `00000000-0000-4000-8000-00000000010${i}`, name })),
  } as ConfigEntities)

const hello = (over: Partial<DataPlaneHello> = {}): DataPlaneHello => ({
  node_id: 'dp-1',
  hostname: 'dp-host',
  ip: '10.0.0.7',
  version: '0.1.0',
  labels: { region: 'eu' },
  config_version: 0,
  config_hash: '',
  plugins: [{ name: 'key-auth', version: '0.1.0' }],
  capabilities: [],
  cert_expiry: null,
  ...over,
})

const options = (over: Partial<StreamStateOptions> = {}): StreamStateOptions => ({
  version: '0.1.0',
  plugins: new Map([
    ['key-auth', '0.1.0'],
    ['cors', '0.1.0'],
  ]),
  ...over,
})

/** The config push in `out`, failing on anything else. */
function push(out: Outgoing | undefined) {
  assert.ok(out && out.kind !== 'refusal', `expected a push, got ${JSON.stringify(out)}`)
  return out
}

describe('sync stream state', () => {
  it('pushes the current snapshot after Hello and records the matching Ack', () => {
    const s = new StreamState(hello(), options())
    assert.equal(s.handshake(), undefined)
    const v1 = snapshot(1)
    const p = push(s.offer(v1))
    assert.equal(p.kind, 'snapshot')
    assert.equal(p.snapshot, v1)
    assert.equal(p.nonce, '1')
    assert.deepEqual(s.status.pending, { version: 1, hash: v1.hash, nonce: '1', delta: false })
    assert.equal(s.status.sync_status, 'unknown')

    const r = s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    assert.deepEqual(r, { stale: false, next: undefined })
    assert.equal(s.status.config_version, 1)
    assert.equal(s.status.config_hash, v1.hash)
    assert.equal(s.status.sync_status, 'normal')
    assert.equal(s.status.pending, null)
  })

  it('skips the push when the DP already serves the same hash', () => {
    const v3 = snapshot(3)
    const s = new StreamState(hello({ config_version: 3, config_hash: v3.hash }), options())
    assert.equal(s.offer(v3), undefined)
    assert.equal(s.status.sync_status, 'normal')
  })

  it('keeps one push in flight and sends only the newest snapshot once answered', () => {
    const s = new StreamState(hello(), options())
    const v1 = snapshot(1)
    s.offer(v1)
    assert.equal(s.offer(snapshot(2)), undefined)
    const v3 = snapshot(3)
    assert.equal(s.offer(v3), undefined)
    const r = s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    assert.equal(push(r.next).snapshot, v3)
    assert.equal(push(r.next).nonce, '2')
    assert.equal(s.status.config_version, 1)
  })

  it('ignores stale and unknown nonces', () => {
    const s = new StreamState(hello(), options())
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
    const s = new StreamState(hello(), options())
    const v1 = snapshot(1)
    s.offer(v1)
    s.ack({ version: 1, hash: v1.hash, nonce: '1' })
    const v2 = snapshot(2)
    s.offer(v2)
    const r = s.nack({ nonce: '2', error: 'routes.1: invalid regex' })
    assert.deepEqual(r, { stale: false, next: undefined })
    assert.equal(s.status.config_version, 1)
    assert.equal(s.status.config_hash, v1.hash)
    assert.equal(s.status.sync_status, 'config_rejected')
    assert.equal(s.status.last_error, 'routes.1: invalid regex')
    assert.equal(s.offer(v2), undefined, 'the same rejected config is not pushed again')

    const v3 = snapshot(3)
    const next = push(s.offer(v3))
    assert.equal(next.snapshot, v3)
    s.ack({ version: 3, hash: v3.hash, nonce: next.nonce })
    assert.equal(s.status.sync_status, 'normal')
    assert.equal(s.status.last_error, null)
  })

  it('sends a delta when the DP holds a version the change log covers, and the whole config after a failed one', () => {
    const v1 = snapshot(1)
    const covered: string[] = []
    const s = new StreamState(
      hello({ config_version: 1, config_hash: v1.hash, capabilities: [DELTA_CAPABILITY] }),
      options({
        canDelta: (base) => {
          covered.push(`${base.version}`)
          return true
        },
      }),
    )
    const v2 = snapshot(2)
    const d = push(s.offer(v2))
    assert.equal(d.kind, 'delta')
    assert.deepEqual(d.kind === 'delta' && d.base, { version: 1, hash: v1.hash })
    assert.deepEqual(covered, ['1'])
    const r = s.nack({ nonce: d.nonce, error: 'delta result hash mismatch' })
    assert.equal(s.status.sync_status, 'unknown', 'a failed delta is not a rejected config')
    const full = push(r.next)
    assert.equal(full.kind, 'snapshot')
    assert.equal(full.snapshot, v2)
    s.ack({ version: 2, hash: v2.hash, nonce: full.nonce })
    assert.equal(push(s.offer(snapshot(3))).kind, 'delta', 'deltas resume after an Ack')
  })

  it('sends whole snapshots to DPs without the delta capability or outside the change log', () => {
    const v1 = snapshot(1)
    const held = { config_version: 1, config_hash: v1.hash }
    const plain = new StreamState(hello(held), options({ canDelta: () => true }))
    assert.equal(push(plain.offer(snapshot(2))).kind, 'snapshot')
    const old = new StreamState(
      hello({ ...held, capabilities: [DELTA_CAPABILITY] }),
      options({ canDelta: () => false }),
    )
    assert.equal(push(old.offer(snapshot(2))).kind, 'snapshot')
  })

  it('refuses a DP with another major or a newer minor version, and never pushes to it', () => {
    for (const version of ['1.0.0', '0.2.0', 'banana']) {
      const s = new StreamState(hello({ version }), options())
      const refusal = s.handshake()
      assert.equal(refusal?.sync_status, 'kong_version_incompatible', version)
      assert.equal(s.status.sync_status, 'kong_version_incompatible')
      assert.equal(s.offer(snapshot(1)), undefined)
    }
    assert.equal(versionSkew('3.9.1', '3.7.0'), undefined, 'an older minor is fine, patch is ignored')
    assert.match(versionSkew('3.9.0', '3.10.0') ?? '', /newer/)
  })

  it('refuses a config using a plugin the DP lacks, keeps it on its config, and pushes once compatible', () => {
    const v1 = snapshot(1, 'a', ['key-auth'])
    const s = new StreamState(hello({ config_version: 1, config_hash: v1.hash }), options())
    const refusal = s.offer(snapshot(2, 'b', ['key-auth', 'cors']))
    assert.deepEqual(refusal && refusal.kind === 'refusal' && [refusal.sync_status, refusal.version], [
      'plugin_set_incompatible',
      2,
    ])
    assert.match(s.status.last_error ?? '', /cors/)
    assert.equal(s.status.pending, null)
    assert.equal(s.status.config_version, 1)
    assert.equal(s.offer(snapshot(2, 'b', ['key-auth', 'cors'])), undefined, 'refused once per config')
    const v3 = snapshot(3, 'c', ['key-auth'])
    const p = push(s.offer(v3))
    s.ack({ version: 3, hash: v3.hash, nonce: p.nonce })
    assert.equal(s.status.sync_status, 'normal')
  })

  it('refuses a plugin whose major version differs', () => {
    const s = new StreamState(hello({ plugins: [{ name: 'key-auth', version: '2.0.0' }] }), options())
    const out = s.offer(snapshot(1, 'a', ['key-auth']))
    assert.equal(out?.kind === 'refusal' && out.sync_status, 'plugin_version_incompatible')
  })

  it('stamps last_seen from its clock and forgets the push in flight on disconnect', () => {
    let now = 1_000_000
    const s = new StreamState(hello(), options({ now: () => now }))
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
