import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EntityErrors } from '../schema/types.ts'
import { validatePluginConfig } from './validate.ts'

function defaults(name: string, config: Record<string, unknown> = {}): Record<string, unknown> {
  const r = validatePluginConfig(name, config)
  assert.ok(r.ok, `${name}: ${JSON.stringify(r.ok ? null : r.errors)}`)
  return r.value
}

function errors(name: string, config: unknown): EntityErrors {
  const r = validatePluginConfig(name, config)
  assert.ok(!r.ok, `${name} should reject ${JSON.stringify(config)}`)
  return r.errors
}

test('key-auth', () => {
  assert.deepEqual(defaults('key-auth'), {
    key_names: ['apikey'],
    hide_credentials: false,
    anonymous: null,
    key_in_header: true,
    key_in_query: true,
    key_in_body: false,
    run_on_preflight: true,
    realm: null,
  })
  assert.deepEqual(errors('key-auth', { key_names: ['api key'] }), {
    config: { key_names: ["bad header name 'api key', allowed characters are A-Z, a-z, 0-9, '_', and '-'"] },
  })
})

test('basic-auth', () => {
  assert.deepEqual(defaults('basic-auth'), { anonymous: null, hide_credentials: false, realm: 'service' })
  assert.deepEqual(errors('basic-auth', { hide_credentials: 'yes' }), {
    config: { hide_credentials: 'expected a boolean' },
  })
})

test('hmac-auth', () => {
  const c = defaults('hmac-auth')
  assert.equal(c.clock_skew, 300)
  assert.deepEqual(c.algorithms, ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'])
  assert.deepEqual(c.enforce_headers, [])
  assert.deepEqual(errors('hmac-auth', { clock_skew: 0, algorithms: ['md5'] }), {
    config: {
      clock_skew: 'value must be greater than 0',
      algorithms: ['expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512'],
    },
  })
})

test('jwt, with the JWKS extension fields', () => {
  const c = defaults('jwt')
  assert.deepEqual(c.uri_param_names, ['jwt'])
  assert.deepEqual(c.header_names, ['authorization'])
  assert.equal(c.key_claim_name, 'iss')
  assert.equal(c.maximum_expiration, 0)
  assert.equal(c.jwks_uri, null)
  assert.equal(c.jwks_cache_ttl, 300)
  assert.deepEqual(errors('jwt', { maximum_expiration: 60, claims_to_verify: ['nbf'] }), {
    '@entity': ["failed conditional validation given value of field 'config.maximum_expiration'"],
    config: { claims_to_verify: 'expected to contain: exp' },
  })
  assert.deepEqual(errors('jwt', { jwks_uri: 'keys.example.com/jwks' }), {
    config: { jwks_uri: 'missing host in url' },
  })
  assert.ok(validatePluginConfig('jwt', { jwks_uri: 'https://idp.example.com/.well-known/jwks.json' }).ok)
})

test('acl', () => {
  assert.deepEqual(defaults('acl', { allow: ['admins'] }), {
    allow: ['admins'],
    deny: null,
    hide_groups_header: false,
    always_use_authenticated_groups: false,
  })
  assert.deepEqual(errors('acl', {}), {
    '@entity': ["at least one of these fields must be non-empty: 'config.allow', 'config.deny'"],
  })
  assert.deepEqual(errors('acl', { allow: ['a'], deny: ['b'] }), {
    '@entity': ["only one of these fields must be non-empty: 'config.allow', 'config.deny'"],
  })
})

test('ip-restriction', () => {
  assert.deepEqual(defaults('ip-restriction', { allow: ['10.0.0.0/8', '::1'] }), {
    allow: ['10.0.0.0/8', '::1'],
    deny: null,
    status: null,
    message: null,
  })
  assert.deepEqual(errors('ip-restriction', { deny: ['10.0.0.0/40'] }), {
    config: { deny: ["invalid ip or cidr range: '10.0.0.0/40'"] },
  })
})

test('cors', () => {
  const c = defaults('cors')
  assert.deepEqual(c.methods, ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])
  assert.equal(c.credentials, false)
  assert.equal(c.preflight_continue, false)
  assert.ok(validatePluginConfig('cors', { origins: ['*', 'https://.*\\.example\\.com'] }).ok)
  assert.deepEqual(errors('cors', { origins: ['http://(bad'], methods: ['FETCH'] }), {
    config: {
      origins: ["'http://(bad' is not a valid regex"],
      methods: ['expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT'],
    },
  })
})

test('bot-detection', () => {
  assert.deepEqual(defaults('bot-detection'), { allow: [], deny: [] })
  assert.deepEqual(errors('bot-detection', { deny: ['(curl'] }), { config: { deny: ['not a valid regex: (curl'] } })
})

test('request-size-limiting', () => {
  assert.deepEqual(defaults('request-size-limiting'), {
    allowed_payload_size: 128,
    size_unit: 'megabytes',
    require_content_length: false,
  })
  assert.deepEqual(errors('request-size-limiting', { size_unit: 'gigabytes' }), {
    config: { size_unit: 'expected one of: megabytes, kilobytes, bytes' },
  })
})

test('request-termination', () => {
  assert.deepEqual(defaults('request-termination'), {
    status_code: 503,
    message: null,
    content_type: null,
    body: null,
    echo: false,
    trigger: null,
  })
  assert.deepEqual(errors('request-termination', { status_code: 600 }), {
    config: { status_code: 'value should be between 100 and 599' },
  })
  assert.deepEqual(errors('request-termination', { message: 'bye', body: '{}' }), {
    config: 'message cannot be used with content_type or body',
  })
  assert.deepEqual(errors('request-termination', { content_type: 'text/plain' }), {
    config: 'content_type requires a body',
  })
})

test('correlation-id', () => {
  assert.deepEqual(defaults('correlation-id'), {
    header_name: 'Kong-Request-ID',
    generator: 'uuid#counter',
    echo_downstream: false,
  })
  assert.deepEqual(errors('correlation-id', { generator: 'ulid' }), {
    config: { generator: 'expected one of: uuid, uuid#counter, tracker' },
  })
})

test('rate-limiting', () => {
  const c = defaults('rate-limiting', { minute: 5 })
  assert.equal(c.limit_by, 'consumer')
  assert.equal(c.policy, 'local')
  assert.equal(c.fault_tolerant, true)
  assert.equal(c.hide_client_headers, false)
  assert.equal(c.error_code, 429)
  assert.equal(c.error_message, 'API rate limit exceeded')
  assert.equal(c.sync_rate, -1)
  assert.equal(c.window_type, 'fixed')
  assert.deepEqual(c.redis, {
    host: null,
    port: 6379,
    timeout: 2000,
    username: null,
    password: null,
    database: 0,
    ssl: false,
    ssl_verify: false,
    server_name: null,
  })
  assert.deepEqual(errors('rate-limiting', { minute: 10, hour: 5 }), {
    config: 'The limit for hour(5.0) cannot be lower than the limit for minute(10.0)',
  })
  assert.deepEqual(errors('rate-limiting', { minute: 10, sync_rate: 1 }), {
    config: 'sync_rate can only be used with the redis policy',
  })
  assert.deepEqual(errors('rate-limiting', { minute: 1, policy: 'redis', limit_by: 'header' }), {
    '@entity': [
      "failed conditional validation given value of field 'config.policy'",
      "failed conditional validation given value of field 'config.limit_by'",
    ],
    config: { redis: { host: 'required field missing' }, header_name: 'required field missing' },
  })
  assert.deepEqual(errors('rate-limiting', { minute: 1, window_type: 'rolling' }), {
    config: { window_type: 'expected one of: fixed, sliding' },
  })
})

test('rate-limiting accepts the deprecated flat redis fields', () => {
  const c = defaults('rate-limiting', { minute: 1, policy: 'redis', redis_host: 'redis.local', redis_port: 6380 })
  assert.deepEqual(
    [(c.redis as Record<string, unknown>).host, (c.redis as Record<string, unknown>).port],
    ['redis.local', 6380],
  )
  const explicit = defaults('rate-limiting', { minute: 1, redis_host: 'old', redis: { host: 'new' } })
  assert.equal((explicit.redis as Record<string, unknown>).host, 'new')
})

test('request-transformer', () => {
  const c = defaults('request-transformer')
  assert.equal(c.http_method, null)
  assert.deepEqual(c.add, { body: [], headers: [], querystring: [] })
  assert.deepEqual(c.replace, { body: [], headers: [], querystring: [], uri: null })
  assert.deepEqual(c.remove, { body: [], headers: [], querystring: [] })
  assert.deepEqual(
    errors('request-transformer', { http_method: 'get', add: { headers: ['x-a', 'x b:1'], body: ['k'] } }),
    {
      config: {
        http_method: 'invalid value: get',
        add: { headers: ['invalid value: x-a', "'x b' is not a valid header"], body: ["key 'k' has no value"] },
      },
    },
  )
  assert.deepEqual(errors('request-transformer', { rename: { headers: ['x-old:x new'] } }), {
    config: { rename: { headers: ["'x new' is not a valid header"] } },
  })
})

test('response-transformer', () => {
  const c = defaults('response-transformer')
  assert.deepEqual(c.add, { json: [], json_types: [], headers: [] })
  assert.deepEqual(c.remove, { json: [], headers: [] })
  assert.deepEqual(errors('response-transformer', { append: { json_types: ['object'] } }), {
    config: { append: { json_types: ['expected one of: boolean, number, string'] } },
  })
})

test('prometheus', () => {
  assert.deepEqual(defaults('prometheus'), {
    per_consumer: false,
    status_code_metrics: false,
    latency_metrics: false,
    bandwidth_metrics: false,
    upstream_health_metrics: false,
    ai_metrics: false,
    wasm_metrics: null,
  })
  assert.deepEqual(errors('prometheus', { per_consumer: 1, extra: true }), {
    config: { extra: 'unknown field', per_consumer: 'expected a boolean' },
  })
})

test('http-log', () => {
  const c = defaults('http-log', { http_endpoint: 'http://logs.local:9000/in' })
  assert.equal(c.method, 'POST')
  assert.equal(c.content_type, 'application/json')
  assert.equal(c.timeout, 10000)
  assert.equal(c.keepalive, 60000)
  assert.deepEqual(c.queue, {
    max_batch_size: 1,
    max_coalescing_delay: 1,
    max_entries: 10000,
    max_bytes: null,
    max_retry_time: 60,
    initial_retry_delay: 0.01,
    max_retry_delay: 60,
    concurrency_limit: 1,
  })
  assert.deepEqual(errors('http-log', {}), { config: { http_endpoint: 'required field missing' } })
  assert.deepEqual(
    errors('http-log', { http_endpoint: 'http://l.local', headers: { Host: 'x', 'Content-Type': 'y' } }),
    {
      config: {
        headers: { Host: "cannot contain 'Host' header", 'Content-Type': "cannot contain 'Content-Type' header" },
      },
    },
  )
  assert.deepEqual(
    errors('http-log', { http_endpoint: 'https://u:p@l.local/x', headers: { authorization: 'Bearer t' } }),
    {
      config: "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed",
    },
  )
})

test('file-log', () => {
  assert.deepEqual(defaults('file-log', { path: '/var/log/turnpike.log' }), {
    path: '/var/log/turnpike.log',
    reopen: false,
    custom_fields_by_lua: null,
  })
  assert.deepEqual(errors('file-log', { path: '/tmp/*.log' }), { config: { path: 'not a valid filename' } })
})

test('unknown plugins and non-record configs', () => {
  assert.deepEqual(errors('nope', {}), {
    name: "plugin 'nope' not enabled; add it to the 'plugins' configuration property",
  })
  assert.deepEqual(errors('cors', 'x'), { config: 'expected a record' })
})
