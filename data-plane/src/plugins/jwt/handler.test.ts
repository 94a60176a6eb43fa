import assert from 'node:assert/strict'
import { createHmac, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { clearJwksCache } from './jwks.ts'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

function jwt(
  alg: string,
  claims: Record<string, unknown>,
  key: string | KeyObject,
  header: Record<string, unknown> = {},
) {
  const input = `${b64({ typ: 'JWT', alg, ...header })}.${b64(claims)}`
  let sig: Buffer
  if (alg.startsWith('HS'))
    sig = createHmac(`sha${alg.slice(2)}`, key as string)
      .update(input)
      .digest()
  else if (alg === 'EdDSA') sig = sign(null, Buffer.from(input), key as KeyObject)
  else if (alg.startsWith('ES'))
    sig = sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' })
  else sig = sign(`sha${alg.slice(2)}`, Buffer.from(input), key as KeyObject)
  return `${input}.${sig.toString('base64url')}`
}

const now = () => Math.floor(Date.now() / 1000)
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ed = generateKeyPairSync('ed25519')
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string

describe('jwt', () => {
  let h: Harness
  let jwks: Server
  let jwksKeys: KeyObject[] = []
  let jwksHits = 0
  const idpRsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const idpRsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 })

  before(async () => {
    clearJwksCache()
    jwks = createServer((_req, res) => {
      jwksHits++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          keys: jwksKeys.map((k, i) => ({
            ...k.export({ format: 'jwk' }),
            kid: `k${i + 1}`,
            use: 'sig',
            alg: 'RS256',
          })),
        }),
      )
    })
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r))
    jwksKeys = [idpRsa.publicKey]
    h = await startHarness()
    const dave = row('consumers', { username: 'dave' })
    const anon = row('consumers', { username: 'anon' })
    const routes = ['/hs', '/rs', '/claims', '/b64', '/jwks', '/anon'].map((p) => routeRow(h.serviceId, { paths: [p] }))
    const [hs, rs, claims, b64r, jwksRoute, anonRoute] = routes
    await h.publish({
      consumers: [dave, anon],
      routes,
      jwt_secrets: [
        row('jwt_secrets', { consumer: { id: dave.id }, key: 'hs-issuer', secret: 'shhh', algorithm: 'HS256' }),
        row('jwt_secrets', {
          consumer: { id: dave.id },
          key: 'rs-issuer',
          algorithm: 'RS256',
          rsa_public_key: pem(rsa.publicKey),
        }),
        row('jwt_secrets', {
          consumer: { id: dave.id },
          key: 'es-issuer',
          algorithm: 'ES256',
          rsa_public_key: pem(ec.publicKey),
        }),
        row('jwt_secrets', {
          consumer: { id: dave.id },
          key: 'ed-issuer',
          algorithm: 'EdDSA',
          rsa_public_key: pem(ed.publicKey),
        }),
        row('jwt_secrets', {
          consumer: { id: dave.id },
          key: 'b64-issuer',
          secret: Buffer.from('raw secret').toString('base64'),
        }),
        row('jwt_secrets', { consumer: { id: dave.id }, key: 'https://idp.test', secret: 'unused' }),
      ],
      plugins: [
        row('plugins', { name: 'jwt', route: { id: hs.id }, config: { cookie_names: ['session'] } }),
        row('plugins', { name: 'jwt', route: { id: rs.id } }),
        row('plugins', {
          name: 'jwt',
          route: { id: claims.id },
          config: { claims_to_verify: ['exp', 'nbf'], maximum_expiration: 3600 },
        }),
        row('plugins', { name: 'jwt', route: { id: b64r.id }, config: { secret_is_base64: true } }),
        row('plugins', {
          name: 'jwt',
          route: { id: jwksRoute.id },
          config: {
            jwks_uri: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`,
            claims_to_verify: ['exp'],
          },
        }),
        row('plugins', { name: 'jwt', route: { id: anonRoute.id }, config: { anonymous: anon.id } }),
      ],
    })
  })
  after(async () => {
    await h.close()
    jwks.close()
  })

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

  it('needs a token and names the problem with a bad one', async () => {
    const none = await h.call('/hs')
    assert.equal(none.status, 401)
    assert.deepEqual(none.json, { message: 'Unauthorized' })
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="turnpike"')
    const cases: [Record<string, string>, string][] = [
      [bearer('not-a-jwt'), 'Bad token; invalid JWT'],
      [bearer(jwt('HS256', { sub: 'x' }, 'shhh')), "No mandatory 'iss' in claims"],
      [bearer(jwt('HS256', { iss: 'nobody' }, 'shhh')), "No credentials found for given 'iss'"],
      [bearer(jwt('HS256', { iss: 'hs-issuer' }, 'forged')), 'Invalid signature'],
      [bearer(jwt('HS512', { iss: 'hs-issuer' }, 'shhh')), 'Invalid algorithm'],
      [bearer(`${b64({ alg: 'none' })}.${b64({ iss: 'hs-issuer' })}.`), 'Bad token; invalid alg'],
    ]
    for (const [headers, message] of cases) {
      const r = await h.call('/hs', { headers })
      assert.equal(r.status, 401, message)
      assert.deepEqual(r.json, { message })
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="turnpike" error="invalid_token"')
    }
    const two = await h.call(`/hs?jwt=${jwt('HS256', { iss: 'hs-issuer', a: 1 }, 'shhh')}`, {
      headers: bearer(jwt('HS256', { iss: 'hs-issuer', a: 2 }, 'shhh')),
    })
    assert.deepEqual(two.json, { message: 'Multiple tokens provided' })
  })

  it('accepts HS256 from the header, query or a cookie', async () => {
    const t = jwt('HS256', { iss: 'hs-issuer' }, 'shhh')
    for (const [path, headers] of [
      ['/hs', bearer(t)],
      [`/hs?jwt=${t}`, {}],
      ['/hs', { cookie: `a=b; session=${t}` }],
    ] as const) {
      const r = await h.call(path, { headers })
      assert.equal(r.status, 200, r.body)
      assert.equal(r.upstream!.headers['x-consumer-username'], 'dave')
      assert.equal(r.upstream!.headers['x-credential-identifier'], 'hs-issuer')
    }
  })

  it('verifies RS256, ES256 and EdDSA with the public key, and base64 secrets', async () => {
    for (const [alg, iss, key] of [
      ['RS256', 'rs-issuer', rsa.privateKey],
      ['ES256', 'es-issuer', ec.privateKey],
      ['EdDSA', 'ed-issuer', ed.privateKey],
    ] as const) {
      const r = await h.call('/rs', { headers: bearer(jwt(alg, { iss }, key)) })
      assert.equal(r.status, 200, `${alg}: ${r.body}`)
      const other =
        alg === 'RS256'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : alg === 'ES256'
            ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
            : generateKeyPairSync('ed25519')
      const forged = await h.call('/rs', { headers: bearer(jwt(alg, { iss }, other.privateKey)) })
      assert.deepEqual(forged.json, { message: 'Invalid signature' }, alg)
    }
    const r = await h.call('/b64', { headers: bearer(jwt('HS256', { iss: 'b64-issuer' }, 'raw secret')) })
    assert.equal(r.status, 200, r.body)
  })

  it('checks exp, nbf and maximum_expiration with Kong bodies', async () => {
    const key = 'shhh'
    const expired = await h.call('/claims', {
      headers: bearer(jwt('HS256', { iss: 'hs-issuer', exp: now() - 5, nbf: now() - 10 }, key)),
    })
    assert.equal(expired.status, 401)
    assert.deepEqual(expired.json, { exp: 'token expired' })
    const early = await h.call('/claims', {
      headers: bearer(jwt('HS256', { iss: 'hs-issuer', exp: now() + 60, nbf: now() + 30 }, key)),
    })
    assert.deepEqual(early.json, { nbf: 'token not valid yet' })
    const missing = await h.call('/claims', { headers: bearer(jwt('HS256', { iss: 'hs-issuer' }, key)) })
    assert.deepEqual(missing.json, { exp: 'must be a number', nbf: 'must be a number' })
    const long = await h.call('/claims', {
      headers: bearer(jwt('HS256', { iss: 'hs-issuer', exp: now() + 7200, nbf: now() }, key)),
    })
    assert.deepEqual(long.json, { exp: 'exceeds maximum allowed expiration' })
    const ok = await h.call('/claims', {
      headers: bearer(jwt('HS256', { iss: 'hs-issuer', exp: now() + 60, nbf: now() }, key)),
    })
    assert.equal(ok.status, 200)
  })

  it('validates against a JWKS, follows key rotation, and rejects unknown keys', async () => {
    const token = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) =>
      jwt('RS256', { iss: 'https://idp.test', sub: 'user-7', exp: now() + 60, ...extra }, key, { kid })
    const r = await h.call('/jwks', { headers: bearer(token(idpRsa.privateKey, 'k1')) })
    assert.equal(r.status, 200, r.body)
    assert.equal(r.upstream!.headers['x-consumer-username'], 'dave')
    const hits = jwksHits
    const again = await h.call('/jwks', { headers: bearer(token(idpRsa.privateKey, 'k1')) })
    assert.equal(again.status, 200)
    assert.equal(jwksHits, hits, 'served from the cache')
    // The IdP rotates: k2 appears; a token with the unknown kid makes the data plane refetch once.
    jwksKeys = [idpRsa.publicKey, idpRsa2.publicKey]
    const rotated = await h.call('/jwks', { headers: bearer(token(idpRsa2.privateKey, 'k2')) })
    assert.equal(rotated.status, 200, rotated.body)
    assert.equal(jwksHits, hits + 1)
    const forged = await h.call('/jwks', {
      headers: bearer(token(createPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })), 'k1')),
    })
    assert.deepEqual(forged.json, { message: 'Invalid signature' })
    const unknown = await h.call('/jwks', { headers: bearer(token(idpRsa.privateKey, 'k9')) })
    assert.equal(unknown.status, 401)
    assert.equal(jwksHits, hits + 1, 'unknown kids do not hammer the IdP')
    const expired = await h.call('/jwks', { headers: bearer(token(idpRsa.privateKey, 'k1', { exp: now() - 1 })) })
    assert.deepEqual(expired.json, { exp: 'token expired' })
    const hs = await h.call('/jwks', {
      headers: bearer(jwt('HS256', { iss: 'https://idp.test' }, 'unused', { kid: 'k1' })),
    })
    assert.deepEqual(hs.json, { message: 'Invalid algorithm' })
  })

  it('a verified token stops working when its secret changes', async () => {
    const h2 = await startHarness()
    try {
      const c = row('consumers', { username: 'x' })
      const r = routeRow(h2.serviceId, { paths: ['/t'] })
      const secret = (value: string) => row('jwt_secrets', { consumer: { id: c.id }, key: 'k', secret: value })
      const plugins = [row('plugins', { name: 'jwt', route: { id: r.id } })]
      await h2.publish({ consumers: [c], routes: [r], jwt_secrets: [secret('one')], plugins })
      const t = bearer(jwt('HS256', { iss: 'k' }, 'one'))
      assert.equal((await h2.call('/t', { headers: t })).status, 200)
      assert.equal((await h2.call('/t', { headers: t })).status, 200)
      await h2.publish({ consumers: [c], routes: [r], jwt_secrets: [secret('two')], plugins })
      assert.deepEqual((await h2.call('/t', { headers: t })).json, { message: 'Invalid signature' })
    } finally {
      await h2.close()
    }
  })

  it('falls back to the anonymous consumer', async () => {
    const r = await h.call('/anon', { headers: bearer('garbage') })
    assert.equal(r.status, 200)
    assert.equal(r.upstream!.headers['x-anonymous-consumer'], 'true')
    assert.equal(r.upstream!.headers['x-consumer-username'], 'anon')
  })
})
