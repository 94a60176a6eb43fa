import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { hashApiKey } from '@turnpike/shared'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { keyHasher } from './handler.ts'

const SECRET = 'keyring-secret-for-tests'

describe('key-auth', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const alice = row('consumers', { username: 'alice', custom_id: 'a-1' })
    const anon = row('consumers', { username: 'anonymous' })
    const r1 = routeRow(h.serviceId, { name: 'r1', paths: ['/r1'] })
    const r2 = routeRow(h.serviceId, { name: 'r2', paths: ['/r2'] })
    const r3 = routeRow(h.serviceId, { name: 'r3', paths: ['/r3'] })
    const cred = row('keyauth_credentials', { consumer: { id: alice.id }, key: hashApiKey(SECRET, 'alice-key') })
    const expired = row('keyauth_credentials', {
      consumer: { id: alice.id },
      key: hashApiKey(SECRET, 'old-key'),
    })
    await h.publish({
      keyring: [{ id: '00000000-0000-4000-8000-00000000aaaa', secret: SECRET }],
      consumers: [alice, anon],
      routes: [r1, r2, r3],
      keyauth_credentials: [cred, { ...expired, expires_at: Math.floor(Date.now() / 1000) - 10 }],
      plugins: [
        row('plugins', { name: 'key-auth', route: { id: r1.id } }),
        row('plugins', {
          name: 'key-auth',
          route: { id: r2.id },
          config: { key_names: ['x-api-key'], hide_credentials: true, anonymous: 'anonymous', realm: 'shop' },
        }),
        row('plugins', {
          name: 'key-auth',
          route: { id: r3.id },
          config: { key_in_body: true, hide_credentials: true },
        }),
      ],
    })
  })
  after(() => h.close())

  it('rejects a request without a key with Kong message and challenge', async () => {
    const r = await h.call('/r1/x')
    assert.equal(r.status, 401)
    assert.deepEqual(r.json, { message: 'No API key found in request' })
    assert.equal(r.headers['www-authenticate'], 'Key realm="turnpike"')
    assert.match(String(r.headers['content-type']), /application\/json/)
  })

  it('rejects an unknown or expired key', async () => {
    for (const key of ['nope', 'old-key']) {
      const r = await h.call('/r1/x', { headers: { apikey: key } })
      assert.equal(r.status, 401)
      assert.deepEqual(r.json, { message: 'Unauthorized' })
    }
  })

  it('accepts a key in a header or the query and sends identity headers upstream', async () => {
    const r = await h.call('/r1/x', { headers: { apikey: 'alice-key', 'x-consumer-username': 'forged' } })
    assert.equal(r.status, 200, r.body)
    const up = r.upstream!.headers
    assert.equal(up['x-consumer-username'], 'alice')
    assert.equal(up['x-consumer-custom-id'], 'a-1')
    assert.ok(up['x-consumer-id'])
    assert.ok(up['x-credential-identifier'])
    assert.equal(up['x-anonymous-consumer'], undefined)
    assert.equal(up.apikey, 'alice-key')
    const q = await h.call('/r1/x?apikey=alice-key&a=1')
    assert.equal(q.status, 200)
    assert.equal(q.upstream!.url, '/x?apikey=alice-key&a=1')
  })

  it('rejects duplicate keys', async () => {
    const r = await h.call('/r1/x?apikey=a&apikey=b')
    assert.equal(r.status, 401)
    assert.deepEqual(r.json, { message: 'Duplicate API key found' })
  })

  it('hides credentials and falls back to the anonymous consumer', async () => {
    const ok = await h.call('/r2/x?keep=1', { headers: { 'x-api-key': 'alice-key' } })
    assert.equal(ok.status, 200)
    assert.equal(ok.upstream!.headers['x-api-key'], undefined)
    const q = await h.call('/r2/x?x-api-key=alice-key&keep=1')
    assert.equal(q.upstream!.url, '/x?keep=1')
    const anon = await h.call('/r2/x', { headers: { 'x-api-key': 'wrong' } })
    assert.equal(anon.status, 200)
    assert.equal(anon.upstream!.headers['x-anonymous-consumer'], 'true')
    assert.equal(anon.upstream!.headers['x-consumer-username'], 'anonymous')
    assert.equal(anon.upstream!.headers['x-credential-identifier'], undefined)
  })

  it('reads the key from a form or JSON body and strips it', async () => {
    const form = await h.call('/r3/x', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'apikey=alice-key&other=1',
    })
    assert.equal(form.status, 200, form.body)
    assert.equal(form.upstream!.body, 'other=1')
    const json = await h.call('/r3/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apikey: 'alice-key', keep: true }),
    })
    assert.equal(json.status, 200, json.body)
    assert.deepEqual(JSON.parse(json.upstream!.body), { keep: true })
    const bad = await h.call('/r3/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apikey: 'zzz' }),
    })
    assert.equal(bad.status, 401)
  })
})

describe('key hashing', () => {
  it('matches the shared hashApiKey for any secret and key', () => {
    for (const secret of ['s', 'x'.repeat(64), 'y'.repeat(65), 'ünïcode-sécret']) {
      const h = keyHasher(secret)
      for (const key of ['', 'k', 'ключ-🔑', 'z'.repeat(2000)]) assert.equal(h(key), hashApiKey(secret, key))
    }
  })
})
