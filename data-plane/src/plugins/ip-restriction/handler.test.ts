import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { addressList } from './handler.ts'

describe('ip-restriction', () => {
  it('matches IPv4 and IPv6 addresses and CIDRs', () => {
    const list = addressList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1'])!
    assert.ok(list.check('10.2.3.4', 'ipv4'))
    assert.ok(list.check('192.168.1.7', 'ipv4'))
    assert.ok(!list.check('192.168.1.8', 'ipv4'))
    assert.ok(list.check('2001:db8::1', 'ipv6'))
    assert.ok(list.check('::1', 'ipv6'))
    assert.ok(!list.check('2001:db9::1', 'ipv6'))
    assert.equal(addressList([]), null)
  })

  let h: Harness
  before(async () => {
    h = await startHarness()
    const routes = ['/deny', '/allow-other', '/allow-local', '/custom'].map((p) =>
      routeRow(h.serviceId, { paths: [p] }),
    )
    await h.publish({
      routes,
      plugins: [
        row('plugins', { name: 'ip-restriction', route: { id: routes[0].id }, config: { deny: ['127.0.0.0/8'] } }),
        row('plugins', {
          name: 'ip-restriction',
          route: { id: routes[1].id },
          config: { allow: ['10.0.0.0/8', '::2'] },
        }),
        row('plugins', {
          name: 'ip-restriction',
          route: { id: routes[2].id },
          config: { allow: ['127.0.0.1', '::1'], deny: ['10.0.0.1'] },
        }),
        row('plugins', {
          name: 'ip-restriction',
          route: { id: routes[3].id },
          config: { deny: ['127.0.0.1'], status: 401, message: 'go away' },
        }),
      ],
    })
  })
  after(() => h?.close())

  it('answers 403 with Kong message, or the configured status and message', async () => {
    for (const p of ['/deny', '/allow-other']) {
      const r = await h.call(p)
      assert.equal(r.status, 403, p)
      assert.deepEqual(r.json, { message: 'Your IP address is not allowed' })
    }
    assert.equal((await h.call('/allow-local')).status, 200)
    const custom = await h.call('/custom')
    assert.equal(custom.status, 401)
    assert.deepEqual(custom.json, { message: 'go away' })
  })
})
