import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hashApiKey } from '@turnpike/shared'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('acl', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const admin = row('consumers', { username: 'admin' })
    const guest = row('consumers', { username: 'guest' })
    const lonely = row('consumers', { username: 'lonely' })
    const anon = row('consumers', { username: 'anon' })
    const allow = routeRow(h.serviceId, { paths: ['/allow'] })
    const deny = routeRow(h.serviceId, { paths: ['/deny'] })
    const hidden = routeRow(h.serviceId, { paths: ['/hidden'] })
    const noauth = routeRow(h.serviceId, { paths: ['/noauth'] })
    const secret = 'k'
    const key = (c: { id: string }, k: string) =>
      row('keyauth_credentials', { consumer: { id: c.id }, key: hashApiKey(secret, k) })
    await h.publish({
      keyring: [{ id: '00000000-0000-4000-8000-00000000aaaa', secret }],
      consumers: [admin, guest, lonely, anon],
      routes: [allow, deny, hidden, noauth],
      keyauth_credentials: [key(admin, 'admin-key'), key(guest, 'guest-key'), key(lonely, 'lonely-key')],
      acls: [
        row('acls', { consumer: { id: admin.id }, group: 'admins' }),
        row('acls', { consumer: { id: admin.id }, group: 'staff' }),
        row('acls', { consumer: { id: guest.id }, group: 'guests' }),
      ],
      plugins: [
        row('plugins', { name: 'key-auth', service: { id: h.serviceId }, config: { anonymous: 'anon' } }),
        row('plugins', { name: 'acl', route: { id: allow.id }, config: { allow: ['admins'] } }),
        row('plugins', { name: 'acl', route: { id: deny.id }, config: { deny: ['guests'] } }),
        row('plugins', {
          name: 'acl',
          route: { id: hidden.id },
          config: { allow: ['staff'], hide_groups_header: true },
        }),
        row('plugins', { name: 'acl', route: { id: noauth.id }, config: { allow: ['x'] } }),
      ],
    })
  })
  after(() => h.close())

  it('allows members and sends their groups upstream', async () => {
    const r = await h.call('/allow', { headers: { apikey: 'admin-key' } })
    assert.equal(r.status, 200)
    assert.deepEqual(String(r.upstream!.headers['x-consumer-groups']).split(', ').sort(), ['admins', 'staff'])
  })

  it('keeps others out with Kong message', async () => {
    const r = await h.call('/allow', { headers: { apikey: 'guest-key' } })
    assert.equal(r.status, 403)
    assert.deepEqual(r.json, { message: 'You cannot consume this service' })
    const none = await h.call('/allow', { headers: { apikey: 'lonely-key' } })
    assert.equal(none.status, 403)
    const anonymous = await h.call('/allow')
    assert.equal(anonymous.status, 401)
    assert.deepEqual(anonymous.json, { message: 'Unauthorized' })
  })

  it('deny lists and hidden groups', async () => {
    assert.equal((await h.call('/deny', { headers: { apikey: 'guest-key' } })).status, 403)
    const ok = await h.call('/deny', { headers: { apikey: 'lonely-key' } })
    assert.equal(ok.status, 200)
    const hidden = await h.call('/hidden', { headers: { apikey: 'admin-key' } })
    assert.equal(hidden.status, 200)
    assert.equal(hidden.upstream!.headers['x-consumer-groups'], undefined)
  })
})
