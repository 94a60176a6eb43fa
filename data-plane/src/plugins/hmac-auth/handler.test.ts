import assert from 'node:assert/strict'
import { createHash, createHmac } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { parseHmacHeader } from './handler.ts'

const SECRET = 'hmac-secret'

function sign(opts: {
  date?: string
  headers?: string
  algorithm?: string
  lines: string
  user?: string
  secret?: string
}): string {
  const algorithm = opts.algorithm ?? 'hmac-sha256'
  const sig = createHmac(algorithm.slice(5), opts.secret ?? SECRET)
    .update(opts.lines)
    .digest('base64')
  return `hmac username="${opts.user ?? 'carol'}", algorithm="${algorithm}", headers="${opts.headers ?? 'date'}", signature="${sig}"`
}

describe('hmac-auth', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const carol = row('consumers', { username: 'carol' })
    const r1 = routeRow(h.serviceId, { name: 'r1', paths: ['/r1'] })
    const r2 = routeRow(h.serviceId, { name: 'r2', paths: ['/r2'] })
    await h.publish({
      consumers: [carol],
      routes: [r1, r2],
      hmacauth_credentials: [
        row('hmacauth_credentials', { consumer: { id: carol.id }, username: 'carol', secret: SECRET }),
      ],
      plugins: [
        row('plugins', { name: 'hmac-auth', route: { id: r1.id }, config: { clock_skew: 60 } }),
        row('plugins', {
          name: 'hmac-auth',
          route: { id: r2.id },
          config: {
            validate_request_body: true,
            enforce_headers: ['date', 'request-line'],
            algorithms: ['hmac-sha512'],
          },
        }),
      ],
    })
  })
  after(() => h.close())

  it('parses the authorization fields', () => {
    assert.deepEqual(parseHmacHeader('hmac username="u", algorithm="hmac-sha1", headers="Date X", signature="s"'), {
      username: 'u',
      algorithm: 'hmac-sha1',
      signature: 's',
      headers: ['date', 'x'],
    })
    assert.equal(parseHmacHeader('Basic abc'), undefined)
  })

  it('answers 401 without credentials, with a stale (replayed) date, or a bad signature', async () => {
    const none = await h.call('/r1')
    assert.equal(none.status, 401)
    assert.deepEqual(none.json, { message: 'Unauthorized' })
    assert.equal(none.headers['www-authenticate'], 'hmac realm="turnpike"')
    const old = new Date(Date.now() - 120_000).toUTCString()
    const replay = await h.call('/r1', { headers: { date: old, authorization: sign({ lines: `date: ${old}` }) } })
    assert.equal(replay.status, 401)
    assert.match(String(replay.json?.message), /a valid date or x-date header is required/)
    const date = new Date().toUTCString()
    const bad = await h.call('/r1', { headers: { date, authorization: sign({ lines: `date: ${date}`, secret: 'x' }) } })
    assert.deepEqual(bad.json, { message: 'HMAC signature does not match' })
    const unknown = await h.call('/r1', {
      headers: { date, authorization: sign({ lines: `date: ${date}`, user: 'z' }) },
    })
    assert.deepEqual(unknown.json, { message: 'HMAC signature cannot be verified' })
    const malformed = await h.call('/r1', { headers: { date, authorization: 'hmac nonsense' } })
    assert.deepEqual(malformed.json, { message: 'HMAC signature cannot be verified' })
  })

  it('accepts a valid signature over the date (or x-date)', async () => {
    const date = new Date().toUTCString()
    const r = await h.call('/r1', {
      headers: { 'x-date': date, authorization: sign({ lines: `x-date: ${date}`, headers: 'x-date' }) },
    })
    assert.equal(r.status, 200, r.body)
    assert.equal(r.upstream!.headers['x-consumer-username'], 'carol')
    assert.equal(r.upstream!.headers['x-credential-identifier'], 'carol')
  })

  it('enforces headers, algorithms and the body digest', async () => {
    const date = new Date().toUTCString()
    const body = '{"a":1}'
    const digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`
    const lines = `date: ${date}\nPOST /r2/x HTTP/1.1\ndigest: ${digest}`
    const auth = sign({ lines, headers: 'date request-line digest', algorithm: 'hmac-sha512' })
    const ok = await h.call('/r2/x', { method: 'POST', headers: { date, digest, authorization: auth }, body })
    assert.equal(ok.status, 200, ok.body)
    assert.equal(ok.upstream!.body, body)
    const tampered = await h.call('/r2/x', {
      method: 'POST',
      headers: { date, digest, authorization: auth },
      body: '{"a":2}',
    })
    assert.deepEqual(tampered.json, { message: 'HMAC signature does not match' })
    const weakAlg = sign({ lines, headers: 'date request-line digest' })
    const r = await h.call('/r2/x', { method: 'POST', headers: { date, digest, authorization: weakAlg }, body })
    assert.deepEqual(r.json, { message: 'HMAC signature cannot be verified' })
    const notEnforced = sign({ lines: `date: ${date}`, algorithm: 'hmac-sha512' })
    const r2 = await h.call('/r2/x', { method: 'POST', headers: { date, digest, authorization: notEnforced }, body })
    assert.deepEqual(r2.json, { message: 'HMAC signature cannot be verified' })
  })
})
