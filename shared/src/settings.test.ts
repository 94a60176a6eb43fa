import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadSettings, parseListen } from './settings.ts'

test('defaults follow the role', () => {
  const s = loadSettings({ env: {} })
  assert.equal(s.role, 'traditional')
  assert.equal(s.database, 'pglite')
  assert.deepEqual(s.admin_listen, [{ host: '127.0.0.1', port: 8001, ssl: false, http2: false }])
  assert.equal(loadSettings({ env: { TURNPIKE_ROLE: 'data_plane' } }).database, 'off')
  assert.equal(loadSettings({ env: { TURNPIKE_ROLE: 'control_plane' } }).database, 'postgres')
})

test('listen syntax, including ssl flags, IPv6 and off', () => {
  assert.deepEqual(parseListen('0.0.0.0:8000, [::1]:8443 ssl http2'), [
    { host: '0.0.0.0', port: 8000, ssl: false, http2: false },
    { host: '::1', port: 8443, ssl: true, http2: true },
  ])
  assert.deepEqual(parseListen('off'), [])
  assert.throws(() => parseListen('nope', 'proxy_listen'), /proxy_listen/)
})

test('unknown settings and bad values name the setting', () => {
  assert.throws(() => loadSettings({ env: { TURNPIKE_PROXY_LSTEN: '1' } }), /unknown setting 'proxy_lsten'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_ROLE: 'boss' } }), /'role'.*expected one of/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_PG_PORT: '99999' } }), /'pg_port'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_ROLE: 'data_plane', TURNPIKE_DATABASE: 'postgres' } }), /database/)
})

test('config file, overridden by the environment', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tp-conf-')), 'turnpike.conf')
  writeFileSync(file, '# comment\nrole = control_plane\npg_host = db.internal   # trailing comment\n')
  const s = loadSettings({ file, env: { TURNPIKE_PG_HOST: 'other' } })
  assert.equal(s.role, 'control_plane')
  assert.equal(s.pg_host, 'other')
  writeFileSync(file, 'bogus = 1\n')
  assert.throws(() => loadSettings({ file, env: {} }), /unknown setting 'bogus'/)
})

test('proxy settings: sizes, durations, flags, CIDR and header lists', () => {
  const d = loadSettings({ env: {} })
  assert.equal(d.client_max_body_size, 0)
  assert.equal(d.client_body_buffer_size, 1024 * 1024)
  assert.equal(d.client_header_timeout, 60_000)
  assert.equal(d.upstream_allow_link_local, false)
  assert.deepEqual(d.trusted_ips, [])
  assert.deepEqual(d.headers, ['server_tokens', 'latency_tokens', 'x-turnpike-request-id'])
  assert.deepEqual(d.headers_upstream, ['x-turnpike-request-id'])
  const s = loadSettings({
    env: {
      TURNPIKE_CLIENT_MAX_BODY_SIZE: '10k',
      TURNPIKE_CLIENT_BODY_TIMEOUT: '500ms',
      TURNPIKE_CLIENT_HEADER_TIMEOUT: '2',
      TURNPIKE_UPSTREAM_ALLOW_LINK_LOCAL: 'on',
      TURNPIKE_TRUSTED_IPS: '10.0.0.0/8, ::1, fd00::/8',
      TURNPIKE_HEADERS: 'off',
      TURNPIKE_HEADERS_UPSTREAM: 'off',
    },
  })
  assert.equal(s.client_max_body_size, 10 * 1024)
  assert.equal(s.client_body_timeout, 500)
  assert.equal(s.client_header_timeout, 2000)
  assert.equal(s.upstream_allow_link_local, true)
  assert.deepEqual(s.trusted_ips, ['10.0.0.0/8', '::1', 'fd00::/8'])
  assert.deepEqual(s.headers, [])
  assert.deepEqual(s.headers_upstream, [])
  assert.throws(() => loadSettings({ env: { TURNPIKE_TRUSTED_IPS: '10.0.0.0/33' } }), /'trusted_ips'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_HEADERS: 'X-Kong-Nope' } }), /'headers'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_CLIENT_MAX_BODY_SIZE: '1t' } }), /'client_max_body_size'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_SSL_CERT: '/x.pem' } }), /ssl_cert/)
})

test('cluster settings: mTLS by default, labels, several control planes, bounded numbers', () => {
  const d = loadSettings({ env: {} })
  assert.equal(d.cluster_mtls, 'shared')
  assert.equal(d.cluster_data_plane_purge_delay, 1_209_600)
  assert.deepEqual(d.cluster_dp_labels, {})
  assert.deepEqual(d.plugins, ['bundled'])
  const s = loadSettings({
    env: {
      TURNPIKE_CLUSTER_DP_LABELS: 'region:eu-west-1, tier:edge_2',
      TURNPIKE_CLUSTER_CONTROL_PLANE: 'cp1.internal:8005, [::1]:8005',
      TURNPIKE_CLUSTER_ALLOWED_COMMON_NAMES: 'dp-a,dp-b',
      TURNPIKE_PLUGINS: 'bundled,my-plugin',
    },
  })
  assert.deepEqual(s.cluster_dp_labels, { region: 'eu-west-1', tier: 'edge_2' })
  assert.equal(s.cluster_control_plane, 'cp1.internal:8005,[::1]:8005')
  assert.deepEqual(s.cluster_allowed_common_names, ['dp-a', 'dp-b'])
  assert.deepEqual(s.plugins, ['bundled', 'my-plugin'])
  assert.throws(() => loadSettings({ env: { TURNPIKE_CLUSTER_DP_LABELS: 'region=eu' } }), /'cluster_dp_labels'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_CLUSTER_DP_LABELS: '-bad:x' } }), /'cluster_dp_labels'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_CLUSTER_CONTROL_PLANE: 'cp1' } }), /'cluster_control_plane'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_CLUSTER_DATA_PLANE_PURGE_DELAY: '5' } }), /purge_delay/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_CLUSTER_MTLS: 'maybe' } }), /'cluster_mtls'/)
})
