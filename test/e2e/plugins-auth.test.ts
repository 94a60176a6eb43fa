/**
 * Authentication plugins end to end: consumers, credentials and plugins created through the Admin API of a
 * control plane (form bodies as in Kong's docs), enforced by a separate data-plane process with Kong's messages
 * and headers. Invalid credentials, malformed Authorization headers, expired and forged JWTs, replayed HMAC
 * dates; identity headers; several auth plugins as "any of them" with anonymous; consumer-scoped overlays.
 */
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type PluginCluster, startPluginCluster } from './plugins-cluster.ts'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)

function jwt(
  alg: string,
  claims: Record<string, unknown>,
  key: string | KeyObject,
  header: Record<string, unknown> = {},
) {
  const input = `${b64({ typ: 'JWT', alg, ...header })}.${b64(claims)}`
  const sig = alg.startsWith('HS')
    ? createHmac(`sha${alg.slice(2)}`, key as string)
        .update(input)
        .digest()
    : sign(`sha${alg.slice(2)}`, Buffer.from(input), key as KeyObject)
  return `${input}.${sig.toString('base64url')}`
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`

describe('auth plugins end to end (control plane + data plane processes)', { timeout: 180_000 }, () => {
  let c: PluginCluster
  let jwks: Server
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const idp = generateKeyPairSync('rsa', { modulusLength: 2048 })

  before(async () => {
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          keys: [{ ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' }],
        }),
      )
    })
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r))
    c = await startPluginCluster('plugins-auth')
    await c.form('POST', '/services', { name: 'echo', url: c.upstream.url }, 201)
    for (const name of ['key', 'basic', 'hmac', 'jwt', 'jwks', 'any', 'acl'])
      await c.form('POST', '/services/echo/routes', { name, paths: [`/${name}`] }, 201)
    await c.form('POST', '/consumers', { username: 'alice', custom_id: 'cust-1' }, 201)
    await c.form('POST', '/consumers', { username: 'bob' }, 201)
    await c.form('POST', '/consumers', { username: 'anonymous' }, 201)
    await c.form('POST', '/consumers/alice/key-auth', { key: 'alice-secret-key' }, 201)
    await c.form('POST', '/consumers/bob/key-auth', { key: 'bob-secret-key' }, 201)
    await c.form('POST', '/consumers/alice/basic-auth', { username: 'alice', password: 'correct horse' }, 201)
    await c.form('POST', '/consumers/alice/hmac-auth', { username: 'alice-hmac', secret: 'hmac-secret' }, 201)
    await c.form('POST', '/consumers/alice/jwt', { key: 'alice-iss', secret: 'jwt-secret' }, 201)
    await c.form(
      'POST',
      '/consumers/bob/jwt',
      {
        key: 'bob-iss',
        algorithm: 'RS256',
        rsa_public_key: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      },
      201,
    )
    await c.form('POST', '/consumers/alice/jwt', { key: 'https://idp.example' }, 201)
    await c.form('POST', '/consumers/alice/acls', { group: 'gold' }, 201)
    await c.form('POST', '/consumers/bob/acls', { group: 'bronze' }, 201)

    await c.form('POST', '/routes/key/plugins', { name: 'key-auth' }, 201)
    await c.form('POST', '/routes/basic/plugins', { name: 'basic-auth', 'config.hide_credentials': 'true' }, 201)
    await c.form('POST', '/routes/hmac/plugins', { name: 'hmac-auth', 'config.clock_skew': '30' }, 201)
    await c.form('POST', '/routes/jwt/plugins', { name: 'jwt', 'config.claims_to_verify': ['exp'] }, 201)
    await c.form(
      'POST',
      '/routes/jwks/plugins',
      {
        name: 'jwt',
        'config.jwks_uri': `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      },
      201,
    )
    await c.form('POST', '/routes/any/plugins', { name: 'key-auth', 'config.anonymous': 'anonymous' }, 201)
    await c.form('POST', '/routes/any/plugins', { name: 'basic-auth', 'config.anonymous': 'anonymous' }, 201)
    await c.form('POST', '/routes/acl/plugins', { name: 'key-auth' }, 201)
    await c.form('POST', '/routes/acl/plugins', { name: 'acl', 'config.allow': ['gold'] }, 201)
    // The anonymous consumer may pass "any" only as far as this consumer-scoped termination lets it.
    await c.form(
      'POST',
      '/consumers/anonymous/plugins',
      {
        name: 'request-termination',
        'config.status_code': '401',
        'config.message': 'Log in first',
      },
      201,
    )
    // A consumer-scoped rate limit overlays bob's requests only.
    await c.form('POST', '/consumers/bob/plugins', { name: 'rate-limiting', 'config.hour': '1000' }, 201)
  })

  after(async () => {
    await c?.stop()
    jwks?.close()
  })

  it('key-auth: Kong messages, challenge, identity headers', async () => {
    const none = await c.until('/key', (r) => r.status === 401)
    assert.deepEqual(none.json, { message: 'No API key found in request' })
    assert.equal(none.headers.get('www-authenticate'), 'Key realm="turnpike"')
    const bad = await c.call('/key', { headers: { apikey: 'guess' } })
    assert.equal(bad.status, 401)
    assert.deepEqual(bad.json, { message: 'Unauthorized' })
    const ok = await c.call('/key/x?apikey=alice-secret-key')
    assert.equal(ok.status, 200, ok.text)
    const h = ok.upstream!.headers
    assert.equal(h['x-consumer-username'], 'alice')
    assert.equal(h['x-consumer-custom-id'], 'cust-1')
    assert.match(h['x-consumer-id'], /^[0-9a-f-]{36}$/)
    assert.match(h['x-credential-identifier'], /^[0-9a-f-]{36}$/)
    assert.equal(h['x-anonymous-consumer'], undefined)
  })

  it('basic-auth: wrong and malformed Authorization headers; hidden credentials', async () => {
    await c.until('/basic', (r) => r.status === 401)
    for (const authorization of [
      basic('alice', 'wrong'),
      basic('mallory', 'correct horse'),
      'Basic %%%',
      'Basic',
      'Bearer abc',
    ]) {
      const r = await c.call('/basic', { headers: { authorization } })
      assert.equal(r.status, 401, authorization)
      assert.deepEqual(r.json, { message: 'Unauthorized' })
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="service"')
    }
    const ok = await c.call('/basic', { headers: { authorization: basic('alice', 'correct horse') } })
    assert.equal(ok.status, 200, ok.text)
    assert.equal(ok.upstream!.headers.authorization, undefined)
    assert.equal(ok.upstream!.headers['x-credential-identifier'], 'alice')
  })

  it('hmac-auth: valid signatures pass; replayed (stale) dates and bad signatures do not', async () => {
    await c.until('/hmac', (r) => r.status === 401)
    const signed = (date: string, secret = 'hmac-secret') => {
      const sig = createHmac('sha256', secret).update(`date: ${date}\nGET /hmac HTTP/1.1`).digest('base64')
      return `hmac username="alice-hmac", algorithm="hmac-sha256", headers="date request-line", signature="${sig}"`
    }
    const date = new Date().toUTCString()
    const ok = await c.call('/hmac', { headers: { date, authorization: signed(date) } })
    assert.equal(ok.status, 200, ok.text)
    assert.equal(ok.upstream!.headers['x-consumer-username'], 'alice')
    const stale = new Date(Date.now() - 5 * 60_000).toUTCString()
    const replayed = await c.call('/hmac', { headers: { date: stale, authorization: signed(stale) } })
    assert.equal(replayed.status, 401)
    assert.match(String(replayed.json.message), /a valid date or x-date header is required/)
    const forged = await c.call('/hmac', { headers: { date, authorization: signed(date, 'guess') } })
    assert.deepEqual(forged.json, { message: 'HMAC signature does not match' })
    const malformed = await c.call('/hmac', { headers: { date, authorization: 'hmac username=alice-hmac' } })
    assert.deepEqual(malformed.json, { message: 'HMAC signature cannot be verified' })
  })

  it('jwt: HS256 and RS256 pass; expired and forged tokens do not', async () => {
    await c.until('/jwt', (r) => r.status === 401)
    const hs = await c.call('/jwt', {
      headers: { authorization: `Bearer ${jwt('HS256', { iss: 'alice-iss', exp: now() + 60 }, 'jwt-secret')}` },
    })
    assert.equal(hs.status, 200, hs.text)
    assert.equal(hs.upstream!.headers['x-credential-identifier'], 'alice-iss')
    const rs = await c.call('/jwt', {
      headers: { authorization: `Bearer ${jwt('RS256', { iss: 'bob-iss', exp: now() + 60 }, rsa.privateKey)}` },
    })
    assert.equal(rs.status, 200, rs.text)
    assert.equal(rs.upstream!.headers['x-consumer-username'], 'bob')
    const expired = await c.call('/jwt', {
      headers: { authorization: `Bearer ${jwt('HS256', { iss: 'alice-iss', exp: now() - 1 }, 'jwt-secret')}` },
    })
    assert.equal(expired.status, 401)
    assert.deepEqual(expired.json, { exp: 'token expired' })
    const forged = await c.call('/jwt', {
      headers: { authorization: `Bearer ${jwt('HS256', { iss: 'alice-iss', exp: now() + 60 }, 'guess')}` },
    })
    assert.deepEqual(forged.json, { message: 'Invalid signature' })
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const forgedRs = await c.call('/jwt', {
      headers: { authorization: `Bearer ${jwt('RS256', { iss: 'bob-iss', exp: now() + 60 }, other.privateKey)}` },
    })
    assert.deepEqual(forgedRs.json, { message: 'Invalid signature' })
    const garbage = await c.call('/jwt', { headers: { authorization: 'Bearer a.b' } })
    assert.deepEqual(garbage.json, { message: 'Bad token; invalid JWT' })
  })

  it('jwt with jwks_uri (Turnpike extension): keys from the IdP, consumer by issuer', async () => {
    await c.until('/jwks', (r) => r.status === 401)
    const token = jwt('RS256', { iss: 'https://idp.example', sub: 'u-1', exp: now() + 60 }, idp.privateKey, {
      kid: 'idp-1',
    })
    const ok = await c.call('/jwks', { headers: { authorization: `Bearer ${token}` } })
    assert.equal(ok.status, 200, ok.text)
    assert.equal(ok.upstream!.headers['x-consumer-username'], 'alice')
    const forged = jwt('RS256', { iss: 'https://idp.example', sub: 'u-1' }, rsa.privateKey, { kid: 'idp-1' })
    assert.deepEqual((await c.call('/jwks', { headers: { authorization: `Bearer ${forged}` } })).json, {
      message: 'Invalid signature',
    })
  })

  it('several auth plugins: any of them, falling back to anonymous (refused here by a consumer-scoped plugin)', async () => {
    const refused = await c.until('/any', (r) => r.status === 401)
    assert.deepEqual(refused.json, { message: 'Log in first' })
    assert.equal((await c.call('/any', { headers: { apikey: 'alice-secret-key' } })).status, 200)
    const byBasic = await c.call('/any', { headers: { authorization: basic('alice', 'correct horse') } })
    assert.equal(byBasic.status, 200)
    assert.equal(byBasic.upstream!.headers['x-credential-identifier'], 'alice')
  })

  it('acl after key-auth; a consumer-scoped rate limit overlays one consumer only', async () => {
    await c.until('/acl', (r) => r.status === 401)
    const gold = await c.call('/acl', { headers: { apikey: 'alice-secret-key' } })
    assert.equal(gold.status, 200)
    assert.equal(gold.upstream!.headers['x-consumer-groups'], 'gold')
    assert.equal(gold.headers.get('x-ratelimit-limit-hour'), null)
    const bronze = await c.call('/acl', { headers: { apikey: 'bob-secret-key' } })
    assert.equal(bronze.status, 403)
    assert.deepEqual(bronze.json, { message: 'You cannot consume this service' })
    const bob = await c.call('/key', { headers: { apikey: 'bob-secret-key' } })
    assert.equal(bob.status, 200)
    assert.equal(bob.headers.get('x-ratelimit-limit-hour'), '1000')
    assert.equal(
      (await c.call('/key', { headers: { apikey: 'alice-secret-key' } })).headers.get('x-ratelimit-limit-hour'),
      null,
    )
  })
})
