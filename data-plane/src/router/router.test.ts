import assert from 'node:assert/strict'
import type { IncomingHttpHeaders } from 'node:http'
import { describe, it } from 'node:test'
import type { RouteRow, ServiceRow } from '../runtime/entity-rows.ts'
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
