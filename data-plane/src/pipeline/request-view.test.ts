import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { compileTrustedIps } from '../http/trusted-ips.ts'
import { BodyTooLargeError, parseQuery, RequestView } from './request-view.ts'

function fakeRequest(headers: Record<string, string>, peer: string, body?: string): IncomingMessage {
  const req = Readable.from(body === undefined ? [] : [Buffer.from(body)]) as unknown as IncomingMessage
  Object.assign(req, { headers, method: 'POST', socket: { remoteAddress: peer }, rawHeaders: [] })
  return req
}

test('query strings parse lazily into Kong-like records', () => {
  assert.deepEqual({ ...parseQuery('a=1&b=x+y&a=2&c') }, { a: ['1', '2'], b: 'x y', c: '' })
  assert.deepEqual({ ...parseQuery('') }, {})
})

test('the client address honours X-Real-IP and X-Forwarded-For only from trusted peers', () => {
  const trusted = compileTrustedIps(['10.0.0.0/8'])
  const view = (headers: Record<string, string>, peer: string) => {
    const v = new RequestView(fakeRequest(headers, peer), 'http', '/', '')
    v.trusted = trusted
    return v.clientIp
  }
  assert.equal(view({ 'x-real-ip': '1.2.3.4' }, '192.0.2.1'), '192.0.2.1')
  assert.equal(view({ 'x-real-ip': '1.2.3.4' }, '10.1.1.1'), '1.2.3.4')
  assert.equal(view({ 'x-forwarded-for': '5.6.7.8, 10.2.2.2' }, '10.1.1.1'), '5.6.7.8')
  assert.equal(view({ 'x-forwarded-for': 'garbage' }, '::ffff:10.1.1.1'), '10.1.1.1')
})

test('bodies are read once, within their limit', async () => {
  const ok = new RequestView(fakeRequest({ 'content-length': '5' }, '::1', 'hello'), 'http', '/', '')
  const [a, b] = await Promise.all([ok.readBody(), ok.readBody()])
  assert.equal(a.toString(), 'hello')
  assert.equal(a, b)
  const big = new RequestView(fakeRequest({ 'transfer-encoding': 'chunked' }, '::1', 'x'.repeat(100)), 'http', '/', '')
  await assert.rejects(big.readBody(10), BodyTooLargeError)
  const declared = new RequestView(fakeRequest({ 'content-length': '100' }, '::1', ''), 'http', '/', '')
  await assert.rejects(declared.readBody(10), BodyTooLargeError)
})

test('query parsing decodes like form encoding and tolerates bad escapes', () => {
  assert.deepEqual(
    { ...parseQuery('a%20b=c%2Bd&e=%zz&&f=1=2&__proto__=x') },
    { 'a b': 'c+d', e: '%zz', f: '1=2', ['__proto__']: 'x' },
  )
  assert.equal(Object.getPrototypeOf(parseQuery('a=1')), null)
})
