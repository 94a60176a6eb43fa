import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hashPassword } from '@turnpike/shared'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { parseBasic } from './handler.ts'

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

describe('basic-auth', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const bob = row('consumers', { username: 'bob' })
    const r1 = routeRow(h.serviceId, { name: 'r1', paths: ['/r1'] })
    const r2 = routeRow(h.serviceId, { name: 'r2', paths: ['/r2'] })
    await h.publish({
      consumers: [bob],
      routes: [r1, r2],
      basicauth_credentials: [
        row('basicauth_credentials', {
          consumer: { id: bob.id },
          username: 'bob',
          password: await hashPassword('s3cret:x'),
        }),
      ],
      plugins: [
        row('plugins', { name: 'basic-auth', route: { id: r1.id } }),
        row('plugins', { name: 'basic-auth', route: { id: r2.id }, config: { hide_credentials: true, realm: 'shop' } }),
      ],
    })
  })
  after(() => h.close())

  it('parses Basic headers as Kong does', () => {
    assert.deepEqual(parseBasic(basic('a', 'b:c')), ['a', 'b:c'])
    assert.equal(parseBasic('Bearer x'), undefined)
    assert.equal(parseBasic(`Basic ${Buffer.from(':nouser').toString('base64')}`), undefined)
  })

  it('challenges requests without credentials', async () => {
    const r = await h.call('/r1')
    assert.equal(r.status, 401)
    assert.deepEqual(r.json, { message: 'Unauthorized' })
    assert.equal(r.headers['www-authenticate'], 'Basic realm="service"')
  })

  it('rejects wrong passwords, unknown users and malformed headers', async () => {
    for (const auth of [basic('bob', 'nope'), basic('eve', 's3cret:x'), 'Basic !!!', 'Basic', 'Digest abc']) {
      const r = await h.call('/r1', { headers: { authorization: auth } })
      assert.equal(r.status, 401, auth)
      assert.deepEqual(r.json, { message: 'Unauthorized' })
    }
  })

  it('accepts the right password (then from the cache) and identifies the consumer', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await h.call('/r1', { headers: { authorization: basic('bob', 's3cret:x') } })
      assert.equal(r.status, 200)
      assert.equal(r.upstream!.headers['x-consumer-username'], 'bob')
      assert.equal(r.upstream!.headers['x-credential-identifier'], 'bob')
      assert.ok(r.upstream!.headers.authorization)
    }
  })

  it('checks Proxy-Authorization and hides credentials when asked', async () => {
    const r = await h.call('/r2', { headers: { 'proxy-authorization': basic('bob', 's3cret:x') } })
    assert.equal(r.status, 200)
    assert.equal(r.upstream!.headers['proxy-authorization'], undefined)
    const denied = await h.call('/r2', { headers: { authorization: basic('bob', 'x') } })
    assert.equal(denied.headers['www-authenticate'], 'Basic realm="shop"')
  })
})
