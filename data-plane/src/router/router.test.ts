import assert from 'node:assert/strict'
import type { IncomingHttpHeaders } from 'node:http'
import { describe, it } from 'node:test'
import type { RouteRow, ServiceRow } from '../runtime/entity-rows.ts'
import { normalizePath } from './normalize-path.ts'
import { Router, type RouterRequest } from './router.ts'

let seq = 0
function route(fields: Partial<RouteRow>): RouteRow {
  seq++
  return {
    id: `r${String(seq).padStart(4, '0')}`,
    name: null,
    protocols: ['http', 'https'],
    methods: null,
    hosts: null,
    paths: null,
    headers: null,
    snis: null,
    regex_priority: 0,
    strip_path: true,
    preserve_host: false,
    path_handling: 'v0',
    https_redirect_status_code: 426,
    request_buffering: true,
    response_buffering: true,
    created_at: seq,
    service_id: 's1',
    ...fields,
  }
}

const service: ServiceRow = {
  id: 's1',
  name: 'svc',
  protocol: 'http',
  host: 'upstream.test',
  port: 80,
  path: null,
  retries: 5,
  connect_timeout: 60000,
  read_timeout: 60000,
  write_timeout: 60000,
  tls_verify: null,
  tls_verify_depth: null,
  ca_certificates: null,
  client_certificate_id: null,
  enabled: true,
}

function router(...routes: RouteRow[]): Router {
  return new Router(routes, new Map([[service.id, service]]))
}

function req(fields: Partial<RouterRequest> & { headers?: IncomingHttpHeaders } = {}): RouterRequest {
  return {
    method: 'GET',
    host: 'example.com',
    port: 8000,
    path: '/',
    scheme: 'http',
    sni: undefined,
    headers: {},
    ...fields,
  }
}

/** Name of the matched route, or undefined. */
function matched(r: Router, request: RouterRequest): string | null | undefined {
  return r.match(request)?.route.row.name
}

describe('router: hosts', () => {
  const r = router(
    route({ name: 'exact', hosts: ['example.com'] }),
    route({ name: 'suffix', hosts: ['*.example.com'] }),
    route({ name: 'prefix', hosts: ['example.*'] }),
    route({ name: 'other', hosts: ['other.test', 'OTHER2.test'] }),
    route({ name: 'ported', hosts: ['ported.test:8080'] }),
  )

  it('matches an exact host', () => assert.equal(matched(r, req({ host: 'example.com' })), 'exact'))
  it('matches any of several hosts, case-insensitively', () => {
    assert.equal(matched(r, req({ host: 'other.test' })), 'other')
    assert.equal(matched(r, req({ host: 'other2.test' })), 'other')
  })
  it('matches a leftmost wildcard at any depth', () => {
    assert.equal(matched(r, req({ host: 'a.example.com' })), 'suffix')
    assert.equal(matched(r, req({ host: 'a.b.example.com' })), 'suffix')
  })
  it('matches a rightmost wildcard', () => {
    assert.equal(matched(r, req({ host: 'example.org' })), 'prefix')
    assert.equal(matched(r, req({ host: 'example.co.uk' })), 'prefix')
  })
  it('a wildcard needs a label in its place', () => {
    assert.equal(matched(r, req({ host: 'xexample.com' })), undefined)
    assert.equal(matched(r, req({ host: 'www.example.org' })), undefined)
  })
  it('no route for an unknown host', () => assert.equal(matched(r, req({ host: 'nope.test' })), undefined))
  it('a host with a port matches only that port', () => {
    assert.equal(matched(r, req({ host: 'ported.test', port: 8080 })), 'ported')
    assert.equal(matched(r, req({ host: 'ported.test', port: 8000 })), undefined)
  })
  it('a plain host beats a wildcard host covering the same name', () => {
    const r2 = router(route({ name: 'wild', hosts: ['*.test'] }), route({ name: 'plain', hosts: ['api.test'] }))
    assert.equal(matched(r2, req({ host: 'api.test' })), 'plain')
    assert.equal(matched(r2, req({ host: 'www.test' })), 'wild')
  })
  it('a route without hosts matches any host, below routes that name it', () => {
    const r2 = router(route({ name: 'any', paths: ['/'] }), route({ name: 'named', hosts: ['api.test'], paths: ['/'] }))
    assert.equal(matched(r2, req({ host: 'api.test' })), 'named')
    assert.equal(matched(r2, req({ host: 'elsewhere.test' })), 'any')
    assert.equal(matched(r2, req({ host: '' })), 'any')
  })
})

describe('router: paths', () => {
  const r = router(
    route({ name: 'root', paths: ['/'] }),
    route({ name: 'api', paths: ['/api'] }),
    route({ name: 'api-v1', paths: ['/api/v1'] }),
    route({ name: 'multi', paths: ['/a', '/bb/cc'] }),
  )

  it('longest prefix wins', () => {
    assert.equal(matched(r, req({ path: '/api/v1/users' })), 'api-v1')
    assert.equal(matched(r, req({ path: '/api/v2' })), 'api')
    assert.equal(matched(r, req({ path: '/other' })), 'root')
  })
  it('prefixes match characters, not segments, as in Kong', () => {
    assert.equal(matched(r, req({ path: '/apix' })), 'api')
    assert.equal(matched(r, req({ path: '/api/v10' })), 'api-v1')
  })
  it('each path of a route ranks on its own length', () => {
    assert.equal(matched(r, req({ path: '/bb/cc/d' })), 'multi')
    assert.equal(matched(r, req({ path: '/a' })), 'multi')
    assert.equal(matched(r, req({ path: '/bb' })), 'root')
  })
  it('a path longer than the request does not match', () => {
    const r2 = router(route({ name: 'deep', paths: ['/a/b/c'] }))
    assert.equal(matched(r2, req({ path: '/a/b' })), undefined)
  })
  it('percent-encoded route paths match normalized requests', () => {
    const r2 = router(route({ name: 'tilde', paths: ['/caf%7e'] }))
    assert.equal(matched(r2, req({ path: '/caf~/x' })), 'tilde')
  })
  it('thousands of routes still find the right one', () => {
    const many = Array.from({ length: 5000 }, (_, i) => route({ name: `svc${i}`, paths: [`/svc${i}/`] }))
    const big = router(...many, route({ name: 'fallback', paths: ['/'] }))
    assert.equal(big.size, 5001)
    assert.equal(matched(big, req({ path: '/svc4321/items' })), 'svc4321')
    assert.equal(matched(big, req({ path: '/svc43/items' })), 'svc43')
    assert.equal(matched(big, req({ path: '/svc99999/' })), 'fallback')
  })
})

describe('router: regex paths', () => {
  const r = router(
    route({ name: 'prefix', paths: ['/users'] }),
    route({ name: 'user', paths: ['~/users/(?<id>\\d+)$'] }),
    route({ name: 'user-pcre', paths: ['~/accounts/(?P<acct>[a-z]+)'] }),
    route({ name: 'low', paths: ['~/items/\\d+'], regex_priority: 0 }),
    route({ name: 'high', paths: ['~/items/42'], regex_priority: 10 }),
  )

  it('matches anchored at the start and exposes named captures', () => {
    const m = r.match(req({ path: '/users/42' }))
    assert.equal(m?.route.row.name, 'user')
    assert.equal(m?.captures?.groups?.id, '42')
    assert.equal(matched(r, req({ path: '/x/users/42' })), undefined)
  })
  it('a regex path outranks a plain prefix with the same other fields', () => {
    assert.equal(matched(r, req({ path: '/users/42' })), 'user')
    assert.equal(matched(r, req({ path: '/users/abc' })), 'prefix')
  })
  it('accepts PCRE-style named groups', () => {
    assert.equal(r.match(req({ path: '/accounts/acme/x' }))?.captures?.groups?.acct, 'acme')
  })
  it('regex_priority orders regex routes', () => {
    assert.equal(matched(r, req({ path: '/items/42' })), 'high')
    assert.equal(matched(r, req({ path: '/items/7' })), 'low')
  })
  it('strip_path removes the whole regex match', () => {
    const r2 = new Router(
      [route({ name: 'rx', paths: ['~/v\\d+/users'] })],
      new Map([[service.id, { ...service, path: '/svc' }]]),
    )
    const m = r2.match(req({ path: '/v2/users/7' }))
    assert.equal(m?.matchedPath, '/v2/users')
    assert.equal(m?.upstreamPath, '/svc/7')
  })
})

describe('router: methods, headers, protocols and priority', () => {
  it('filters on methods', () => {
    const r = router(
      route({ name: 'get', methods: ['GET'], paths: ['/m'] }),
      route({ name: 'post', methods: ['POST'] }),
    )
    assert.equal(matched(r, req({ path: '/m' })), 'get')
    assert.equal(matched(r, req({ method: 'POST', path: '/m' })), 'post')
    assert.equal(matched(r, req({ method: 'PUT', path: '/m' })), undefined)
    assert.equal(matched(r, req({ method: 'HEAD', path: '/m' })), undefined)
  })
  it('more matching fields beat a longer path', () => {
    const r = router(
      route({ name: 'long', paths: ['/api/very/long/prefix'] }),
      route({ name: 'weighted', methods: ['GET'], paths: ['/'] }),
    )
    assert.equal(matched(r, req({ path: '/api/very/long/prefix/x' })), 'weighted')
    assert.equal(matched(r, req({ method: 'POST', path: '/api/very/long/prefix/x' })), 'long')
  })
  it('host + path beats path alone, even with a shorter path', () => {
    const r = router(
      route({ name: 'path', paths: ['/abc/def'] }),
      route({ name: 'host', hosts: ['example.com'], paths: ['/'] }),
    )
    assert.equal(matched(r, req({ path: '/abc/def' })), 'host')
  })
  it('matches headers case-insensitively, plain and ~* regex values', () => {
    const r = router(
      route({ name: 'v2', paths: ['/'], headers: { 'X-Version': ['v2', '~*^beta-\\d+$'] } }),
      route({ name: 'plain', paths: ['/'] }),
    )
    assert.equal(matched(r, req({ headers: { 'x-version': 'V2' } })), 'v2')
    assert.equal(matched(r, req({ headers: { 'x-version': 'Beta-7' } })), 'v2')
    assert.equal(matched(r, req({ headers: { 'x-version': 'v3' } })), 'plain')
    assert.equal(matched(r, req()), 'plain')
  })
  it('more headers rank higher at equal weight', () => {
    const r = router(
      route({ name: 'one', paths: ['/'], headers: { a: ['1'] } }),
      route({ name: 'two', paths: ['/'], headers: { a: ['1'], b: ['2'] } }),
    )
    assert.equal(matched(r, req({ headers: { a: '1', b: '2' } })), 'two')
    assert.equal(matched(r, req({ headers: { a: '1' } })), 'one')
  })
  it('http-only routes do not match https requests; https-only routes match both (for the 426)', () => {
    const r = router(
      route({ name: 'http', protocols: ['http'], paths: ['/h'] }),
      route({ name: 'https', protocols: ['https'], paths: ['/s'] }),
    )
    assert.equal(matched(r, req({ path: '/h' })), 'http')
    assert.equal(matched(r, req({ path: '/h', scheme: 'https' })), undefined)
    const m = r.match(req({ path: '/s' }))
    assert.equal(m?.route.row.name, 'https')
    assert.equal(m?.route.httpsOnly, true)
  })
  it('SNIs only constrain https requests', () => {
    const r = router(route({ name: 'sni', protocols: ['https'], snis: ['api.test'], paths: ['/'] }))
    assert.equal(matched(r, req({ scheme: 'https', sni: 'api.test' })), 'sni')
    assert.equal(matched(r, req({ scheme: 'https', sni: 'other.test' })), undefined)
    assert.equal(matched(r, req({ scheme: 'http' })), 'sni')
  })
  it('ties go to the oldest route', () => {
    const older = route({ name: 'older', paths: ['/t'], created_at: 1 })
    const newer = route({ name: 'newer', paths: ['/t'], created_at: 2 })
    assert.equal(matched(router(newer, older), req({ path: '/t' })), 'older')
  })
  it('a route without a service still matches (the proxy answers 503)', () => {
    const r = router(route({ name: 'lonely', paths: ['/l'], service_id: null }))
    const m = r.match(req({ path: '/l' }))
    assert.equal(m?.route.service, undefined)
  })
})

describe('router: upstream path', () => {
  const svc = (path: string | null) => new Map([[service.id, { ...service, path }]])
  it('joins the service path and the stripped remainder', () => {
    const r = new Router([route({ paths: ['/api'] })], svc('/v1'))
    assert.equal(r.match(req({ path: '/api/users' }))?.upstreamPath, '/v1/users')
    assert.equal(r.match(req({ path: '/api' }))?.upstreamPath, '/v1')
    assert.equal(r.match(req({ path: '/api/users' }))?.strippedPrefix, '/api')
  })
  it('keeps the path when strip_path is off', () => {
    const r = new Router([route({ paths: ['/api'], strip_path: false })], svc('/v1'))
    const m = r.match(req({ path: '/api/users' }))
    assert.equal(m?.upstreamPath, '/v1/api/users')
    assert.equal(m?.strippedPrefix, undefined)
  })
  it('a service without a path forwards the remainder as is', () => {
    const r = new Router([route({ paths: ['/api/'] })], svc(null))
    assert.equal(r.match(req({ path: '/api/users?' }))?.upstreamPath, '/users?')
    assert.equal(r.match(req({ path: '/api/' }))?.upstreamPath, '/')
  })
})

describe('router: Kong priority, field by field', () => {
  it('plain hosts outrank more headers; more headers outrank a regex path; a regex outranks a longer prefix', () => {
    const r = router(
      route({ name: 'wild-2h', hosts: ['*.test'], headers: { a: ['1'], b: ['2'] }, paths: ['/'] }),
      route({ name: 'plain-1h', hosts: ['api.test'], headers: { a: ['1'] }, paths: ['/'] }),
    )
    assert.equal(matched(r, req({ host: 'api.test', headers: { a: '1', b: '2' } })), 'plain-1h')
    const r2 = router(
      route({ name: 'regex-1h', paths: ['~/x/\\d+'], headers: { a: ['1'] } }),
      route({ name: 'prefix-2h', paths: ['/x'], headers: { a: ['1'], b: ['2'] } }),
    )
    assert.equal(matched(r2, req({ path: '/x/1', headers: { a: '1', b: '2' } })), 'prefix-2h')
    const r3 = router(
      route({ name: 'long-prefix', paths: ['/x/1/and/more'] }),
      route({ name: 'regex', paths: ['~/x/\\d+'] }),
    )
    assert.equal(matched(r3, req({ path: '/x/1/and/more' })), 'regex')
  })
  it('an empty hosts list counts as plain hosts, as Kong tests the field type', () => {
    const r = router(
      route({ name: 'null-hosts', paths: ['/p'] }),
      route({ name: 'empty-hosts', hosts: [], paths: ['/p'] }),
    )
    assert.equal(matched(r, req({ path: '/p' })), 'empty-hosts')
  })
})

describe('router: headers', () => {
  it('sees every value of a repeated header when raw headers are given', () => {
    const r = router(route({ name: 'v2', paths: ['/'], headers: { 'x-version': ['v2'] } }))
    const headers = { 'x-version': 'v1, v2' }
    assert.equal(matched(r, req({ headers })), undefined)
    assert.equal(matched(r, req({ headers, rawHeaders: ['X-Version', 'v1', 'X-Version', 'V2'] })), 'v2')
    assert.equal(matched(r, req({ headers, rawHeaders: ['X-Version', 'v1'] })), undefined)
  })
})

describe('router: protocols', () => {
  const r = router(
    route({ name: 'grpc', protocols: ['grpc'], paths: ['/g'] }),
    route({ name: 'grpcs', protocols: ['grpcs'], paths: ['/gs'] }),
    route({ name: 'ws', protocols: ['ws'], paths: ['/w'] }),
    route({ name: 'wss', protocols: ['wss'], paths: ['/ws'] }),
  )
  it('grpc and ws routes match plain requests only; grpcs and wss ones both (the proxy answers plain ones)', () => {
    assert.equal(matched(r, req({ path: '/g' })), 'grpc')
    assert.equal(matched(r, req({ path: '/g', scheme: 'https' })), undefined)
    assert.equal(matched(r, req({ path: '/gs', scheme: 'https' })), 'grpcs')
    assert.equal(matched(r, req({ path: '/gs' })), 'grpcs')
    assert.equal(matched(r, req({ path: '/w', scheme: 'https' })), undefined)
    assert.equal(matched(r, req({ path: '/ws', scheme: 'https' })), 'wss')
  })
  it('marks what the proxy must enforce after matching', () => {
    const g = r.match(req({ path: '/gs' }))!.route
    assert.deepEqual([g.grpc, g.grpcsOnly, g.websocket, g.websocketOnly], [true, true, false, false])
    const w = r.match(req({ path: '/ws', scheme: 'https' }))!.route
    assert.deepEqual([w.grpc, w.websocket, w.websocketOnly, w.wssOnly], [false, true, true, true])
    const h = router(route({ name: 'h', paths: ['/'] })).match(req())!.route
    assert.deepEqual([h.websocket, h.websocketOnly, h.requestBuffering, h.responseBuffering], [true, false, true, true])
  })
})

describe('router: captures, encodings and path_handling', () => {
  it('exposes uri_captures as Kong does: numbered and named, unmatched groups left out', () => {
    const r = router(route({ name: 'rx', paths: ['~/users/(?<id>\\d+)(/(?<tab>\\w+))?'] }))
    assert.deepEqual(r.match(req({ path: '/users/7' }))?.uriCaptures, { 0: '/users/7', 1: '7', id: '7' })
    assert.deepEqual(r.match(req({ path: '/users/7/posts' }))?.uriCaptures, {
      0: '/users/7/posts',
      1: '7',
      2: '/posts',
      3: 'posts',
      id: '7',
      tab: 'posts',
    })
    assert.equal(router(route({ paths: ['/p'] })).match(req({ path: '/p' }))?.uriCaptures, null)
  })
  it('matches UTF-8 route paths against percent-encoded requests and escapes what goes upstream', () => {
    const r = router(route({ name: 'cafe', paths: ['/café'], strip_path: false }))
    const m = r.match(req({ path: normalizePath('/caf%C3%A9/a%20b') }))
    assert.equal(m?.route.row.name, 'cafe')
    assert.equal(m?.upstreamPath, '/caf%C3%A9/a%20b')
  })
  it('joins the service path v1-style on path_handling v1 routes', () => {
    const services = new Map([[service.id, { ...service, path: '/fee/bor' }]])
    const v1 = new Router([route({ paths: ['/foo'], path_handling: 'v1' })], services)
    const v0 = new Router([route({ paths: ['/foo'] })], services)
    assert.equal(v1.match(req({ path: '/foobar' }))?.upstreamPath, '/fee/borbar')
    assert.equal(v0.match(req({ path: '/foobar' }))?.upstreamPath, '/fee/bor/bar')
  })
})
