/** Node settings: Kong's `kong.conf` names, read from a config file and `TURNPIKE_*` environment variables. */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { TurnpikeError } from './errors.ts'

export interface ListenAddress {
  host: string
  port: number
  ssl: boolean
  http2: boolean
  /** SO_REUSEPORT (Kong's `reuseport` flag); the data plane's workers always share their listeners this way. */
  reuseport?: boolean
  /** Accept queue length (Kong's `backlog=N`); node's default (511) when unset. */
  backlog?: number
}

export type Role = 'traditional' | 'control_plane' | 'data_plane'
export type DatabaseKind = 'pglite' | 'postgres' | 'off'

export interface Settings {
  role: Role
  database: DatabaseKind
  prefix: string
  pg_host: string
  pg_port: number
  pg_user: string
  pg_password: string
  pg_database: string
  proxy_listen: ListenAddress[]
  admin_listen: ListenAddress[]
  /** When set, every Admin API request needs `Authorization: Bearer <token>` or `Kong-Admin-Token: <token>`. */
  admin_token: string
  /** Secret keying API-key hashes; empty: the one generated in the database. Every CP must use the same. */
  keyring_secret: string
  status_listen: ListenAddress[]
  cluster_listen: ListenAddress[]
  /** host:port of the control plane a data plane dials. */
  cluster_control_plane: string
  /** CP↔DP mTLS: `shared` (one pinned cert on every node, the default), `pki` (CA-signed) or `off` (plaintext, warned). */
  cluster_mtls: 'off' | 'shared' | 'pki'
  /** Cluster certificate and key, PEM text or a file path; `turnpike cert gen` makes a shared pair. */
  cluster_cert: string
  cluster_cert_key: string
  /** pki: the CA that signs the cluster certificates (PEM text or a file path). */
  cluster_ca_cert: string
  /** pki: the name a data plane expects in the control plane's certificate, also sent as SNI. */
  cluster_server_name: string
  /** pki: the common names a control plane accepts from data planes; empty accepts any the CA signed. */
  cluster_allowed_common_names: string[]
  /** Data plane labels reported to the control plane (Kong's `key:value,…`). */
  cluster_dp_labels: Record<string, string>
  /** Seconds without contact after which a data plane leaves the registry (Kong's default: 14 days). */
  cluster_data_plane_purge_delay: number
  /** Largest compressed config message in bytes, on both planes (Kong: 16 MiB; raised for big configs). */
  cluster_max_payload: number
  /** Plugins this node runs (Kong's `plugins`): `bundled` and/or names; a data plane reports them to its CP. */
  plugins: string[]
  declarative_config: string
  log_level: string
  /** Proxy: CIDRs (IPv4/IPv6) whose X-Forwarded-* headers are believed (Kong's `trusted_ips`). */
  trusted_ips: string[]
  /** Proxy: headers sent to clients (Kong's `headers`), lowercased; `[]` when `off`. */
  headers: string[]
  /** Proxy: headers sent upstream (Kong's `headers_upstream`), lowercased; `[]` when `off`. */
  headers_upstream: string[]
  /** Proxy TLS: default certificate and key (PEM text or file path); empty means a self-signed one under `prefix`. */
  ssl_cert: string
  ssl_cert_key: string
  /** Proxy: largest request body in bytes (413 above it); 0 means unlimited, as in Kong. */
  client_max_body_size: number
  /** Proxy: request bodies up to this many bytes are read whole before the upstream call (route `request_buffering`). */
  client_body_buffer_size: number
  /** Proxy: largest request head (request line and headers) in bytes; 431 above it. */
  client_max_header_size: number
  /** Proxy: most request header fields accepted; 431 above it. */
  client_max_headers: number
  /** Proxy: ms a client may take to send the request head (408 after). */
  client_header_timeout: number
  /** Proxy: ms a client may stay silent between two reads of the request body (408 after). */
  client_body_timeout: number
  /** Proxy: ms a client may take to send the whole request; 0 disables. */
  client_request_timeout: number
  /** Proxy: allow upstream connections to link-local and cloud metadata addresses (SSRF guard off). */
  upstream_allow_link_local: boolean
  /**
   * Seconds after which a target that passive checks alone took out gets one trial request (a half-open circuit
   * breaker); 0, the default, keeps Kong's behaviour: only active checks or the Admin API bring it back.
   */
  upstream_passive_half_open: number
  /** Custom plugins: a directory of `<name>/definition.ts` + `<name>/handler.ts` folders, loaded by both planes. */
  plugins_dir: string
  /** Name servers for target names, `ip[:port]` each (IPv6 bracketed); empty: the system's /etc/resolv.conf. */
  dns_resolver: string[]
  /** Hosts file whose names resolve before DNS; empty: none. */
  dns_hostsfile: string
  /** Record types tried in turn; `LAST` is whichever type answered last time for that name. */
  dns_order: DnsOrderType[]
  /** Seconds that replace every record's TTL; undefined: the records' own TTLs. */
  dns_valid_ttl: number | undefined
  /** Seconds the last good answer is still served after its TTL when re-resolving fails. */
  dns_stale_ttl: number
  /** Seconds between retries after a name did not exist (NXDOMAIN / no records). */
  dns_not_found_ttl: number
  /** Seconds between retries after any other resolution error. */
  dns_error_ttl: number
  /** Accepted for kong.conf compatibility; queries for one name are always coalesced (Kong's `off`). */
  dns_no_sync: boolean
  /**
   * Proxy worker threads sharing the proxy listeners (Kong's `nginx_worker_processes`, accepted as an alias):
   * `auto` (the default) is one per available core.
   */
  worker_processes: number
}

export type DnsOrderType = 'LAST' | 'SRV' | 'A' | 'AAAA' | 'CNAME'

type Parser = (raw: string, name: string) => unknown

function bad(name: string, raw: string, why: string): never {
  throw new TurnpikeError(
    'INVALID_OPTIONS',
    `invalid value for setting '${name}' (TURNPIKE_${name.toUpperCase()}=${raw}): ${why}`,
  )
}

const oneOf =
  (...values: string[]): Parser =>
  (raw, name) =>
    values.includes(raw) ? raw : bad(name, raw, `expected one of: ${values.join(', ')}`)

const str: Parser = (raw) => raw

const int: Parser = (raw, name) => {
  const n = Number(raw)
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : bad(name, raw, 'expected a port number')
}

/** Kong's listen syntax: `host:port [ssl] [http2], host:port …`; `off` disables the listener. */
export function parseListen(raw: string, name = 'listen'): ListenAddress[] {
  if (raw.trim() === 'off') return []
  return raw.split(',').map((part) => {
    const [addr, ...flags] = part.trim().split(/\s+/)
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d+)$/.exec(addr ?? '')
    if (!m) bad(name, raw, `expected host:port, got '${addr}'`)
    const port = Number(m[3])
    if (port > 65535) bad(name, raw, 'port out of range')
    let backlog: number | undefined
    for (const f of flags) {
      const [flag, value] = f.split('=')
      if (!['ssl', 'http2', 'reuseport', 'backlog', 'proxy_protocol'].includes(flag ?? ''))
        bad(name, raw, `unknown flag '${f}'`)
      if (flag !== 'backlog') continue
      backlog = Number(value)
      if (!Number.isInteger(backlog) || backlog < 1) bad(name, raw, `'${f}' needs a positive number (backlog=N)`)
    }
    const out: ListenAddress = {
      host: m[1] ?? m[2] ?? '',
      port,
      ssl: flags.includes('ssl'),
      http2: flags.includes('http2'),
    }
    if (flags.includes('reuseport')) out.reuseport = true
    if (backlog !== undefined) out.backlog = backlog
    return out
  })
}

const listen: Parser = (raw, name) => parseListen(raw, name)

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** nginx sizes: bytes, or a number suffixed with k, m or g. */
const size: Parser = (raw, name) => {
  const m = /^(\d+)\s*([kmg]?)$/i.exec(raw.trim())
  if (!m) bad(name, raw, "expected a size such as '8k', '1m' or a number of bytes")
  return Number(m[1]) * (SIZE_UNITS[m[2]!.toLowerCase()] ?? 1)
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** nginx durations in ms: `500ms`, `60s`, `5m`; a bare number means seconds, as in nginx. */
const duration: Parser = (raw, name) => {
  const m = /^(\d+)\s*(ms|s|m|h)?$/i.exec(raw.trim())
  if (!m) bad(name, raw, "expected a duration such as '60s' or '500ms'")
  return Number(m[1]) * (DURATION_UNITS[(m[2] ?? 's').toLowerCase()] ?? 1000)
}

const flag: Parser = (raw, name) => {
  const v = raw.trim().toLowerCase()
  if (v === 'on' || v === 'true') return true
  if (v === 'off' || v === 'false') return false
  return bad(name, raw, 'expected on or off')
}

const count: Parser = (raw, name) => {
  const n = Number(raw)
  return Number.isInteger(n) && n > 0 ? n : bad(name, raw, 'expected a positive integer')
}

/** Comma-separated values; `off` or empty means none. */
function splitList(raw: string): string[] {
  const items = raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
  return items.length === 1 && items[0]!.toLowerCase() === 'off' ? [] : items
}

/** Comma-separated CIDRs or addresses, IPv4 or IPv6 (Kong's `trusted_ips`; `0.0.0.0/0,::/0` trusts everyone). */
const cidrList: Parser = (raw, name) =>
  splitList(raw).map((item) => {
    const [addr = '', bits, extra] = item.split('/')
    const family = isIP(addr)
    const max = family === 4 ? 32 : 128
    const ok =
      family !== 0 && extra === undefined && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max))
    return ok ? item : bad(name, raw, `'${item}' is not an IP address or CIDR`)
  })

/** A list of header names from a fixed vocabulary, lowercased (Kong's `headers`/`headers_upstream`). */
const headerList =
  (...allowed: string[]): Parser =>
  (raw, name) => {
    const known = new Set(allowed.map((a) => a.toLowerCase()))
    return splitList(raw).map((item) => {
      const v = item.toLowerCase()
      return known.has(v)
        ? v
        : bad(name, raw, `unknown header token '${item}'; expected any of: ${allowed.join(', ')}, off`)
    })
  }

/** `host:port` or a comma list of them (several control planes, tried in turn); kept as written. */
const hostPortList: Parser = (raw, name) => {
  const items = splitList(raw)
  if (items.length === 0) bad(name, raw, 'expected host:port')
  for (const item of items)
    if (!/^(?:\[[0-9a-fA-F:.]+\]|[^:\s,]+):\d{1,5}$/.test(item)) bad(name, raw, `expected host:port, got '${item}'`)
  return items.join(',')
}

/** An integer of at least `min` (seconds, bytes). */
const atLeast =
  (min: number): Parser =>
  (raw, name) => {
    const n = Number(raw)
    return Number.isInteger(n) && n >= min ? n : bad(name, raw, `expected an integer ≥ ${min}`)
  }

const LABEL_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/

/** Kong's `cluster_dp_labels`: `key:value,…`, each part 1–63 of `[A-Za-z0-9._-]`, alphanumeric at both ends. */
const labels: Parser = (raw, name) => {
  const out: Record<string, string> = {}
  for (const item of splitList(raw)) {
    const at = item.indexOf(':')
    const [key, value] = [item.slice(0, at).trim(), item.slice(at + 1).trim()]
    if (at < 0 || !LABEL_PART.test(key) || !LABEL_PART.test(value))
      bad(name, raw, `'${item}' is not key:value (1-63 of A-Z a-z 0-9 . _ -, alphanumeric at both ends)`)
    out[key] = value
  }
  return out
}

/** An optional integer of at least `min`; empty means unset (undefined). */
const optionalAtLeast =
  (min: number): Parser =>
  (raw, name) =>
    raw.trim() === '' ? undefined : atLeast(min)(raw.trim(), name)

const DNS_ORDER_TYPES: readonly DnsOrderType[] = ['LAST', 'SRV', 'A', 'AAAA', 'CNAME']

/** Kong's `dns_order`: record types, case-insensitive, each once. */
const dnsOrder: Parser = (raw, name) => {
  const types = splitList(raw).map((item) => {
    const t = item.toUpperCase() as DnsOrderType
    return DNS_ORDER_TYPES.includes(t)
      ? t
      : bad(name, raw, `unknown record type '${item}'; expected LAST, SRV, A, AAAA or CNAME`)
  })
  if (types.length === 0) bad(name, raw, 'expected at least one record type')
  return [...new Set(types)]
}

/** Kong's `dns_resolver`: `ip[:port]` list; a bare IPv6 is bracketed, the form node's `setServers` takes. */
const nameServers: Parser = (raw, name) =>
  splitList(raw).map((item) => {
    if (isIP(item) === 6) return `[${item}]`
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(item)
    const ip = m?.[1] ?? m?.[2] ?? ''
    const port = m?.[3] === undefined ? undefined : Number(m[3])
    const ok =
      m !== null && isIP(ip) === (m[1] === undefined ? 4 : 6) && (port === undefined || (port > 0 && port <= 65535))
    return ok ? item : bad(name, raw, `'${item}' is not ip[:port]`)
  })

/** Response headers the proxy may add, and Kong's two group tokens. */
export const DOWNSTREAM_HEADER_TOKENS = [
  'server_tokens',
  'latency_tokens',
  'Server',
  'Via',
  'X-Turnpike-Proxy-Latency',
  'X-Turnpike-Upstream-Latency',
  'X-Turnpike-Response-Latency',
  'X-Turnpike-Upstream-Status',
  'X-Turnpike-Request-Id',
] as const

/** `auto` or a positive count of workers. */
const workers: Parser = (raw, name) => {
  if (raw.trim() === 'auto') return availableParallelism()
  const n = Number(raw)
  return Number.isInteger(n) && n >= 1 && n <= 1024 ? n : bad(name, raw, "expected 'auto' or a number of workers ≥ 1")
}

const SPEC: Record<keyof Settings, { parse: Parser; default: string }> = {
  role: { parse: oneOf('traditional', 'control_plane', 'data_plane'), default: 'traditional' },
  // Empty means: chosen by role (see loadSettings).
  database: { parse: (raw, name) => (raw === '' ? '' : oneOf('pglite', 'postgres', 'off')(raw, name)), default: '' },
  prefix: { parse: str, default: '.turnpike' },
  pg_host: { parse: str, default: '127.0.0.1' },
  pg_port: { parse: int, default: '5432' },
  pg_user: { parse: str, default: 'postgres' },
  pg_password: { parse: str, default: '' },
  pg_database: { parse: str, default: 'turnpike' },
  proxy_listen: { parse: listen, default: '0.0.0.0:8000' },
  admin_listen: { parse: listen, default: '127.0.0.1:8001' },
  admin_token: { parse: str, default: '' },
  keyring_secret: { parse: str, default: '' },
  status_listen: { parse: listen, default: '0.0.0.0:8100' },
  cluster_listen: { parse: listen, default: '0.0.0.0:8005' },
  cluster_control_plane: { parse: hostPortList, default: '127.0.0.1:8005' },
  cluster_mtls: { parse: oneOf('off', 'shared', 'pki'), default: 'shared' },
  cluster_cert: { parse: str, default: '' },
  cluster_cert_key: { parse: str, default: '' },
  cluster_ca_cert: { parse: str, default: '' },
  cluster_server_name: { parse: str, default: '' },
  cluster_allowed_common_names: { parse: (raw) => splitList(raw), default: '' },
  cluster_dp_labels: { parse: labels, default: '' },
  cluster_data_plane_purge_delay: { parse: atLeast(60), default: '1209600' },
  cluster_max_payload: { parse: atLeast(4 * 1024 * 1024), default: String(128 * 1024 * 1024) },
  plugins: { parse: (raw) => splitList(raw), default: 'bundled' },
  declarative_config: { parse: str, default: '' },
  log_level: { parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), default: 'info' },
  trusted_ips: { parse: cidrList, default: '' },
  headers: {
    parse: headerList(...DOWNSTREAM_HEADER_TOKENS),
    default: 'server_tokens, latency_tokens, X-Turnpike-Request-Id',
  },
  headers_upstream: { parse: headerList('X-Turnpike-Request-Id'), default: 'X-Turnpike-Request-Id' },
  ssl_cert: { parse: str, default: '' },
  ssl_cert_key: { parse: str, default: '' },
  client_max_body_size: { parse: size, default: '0' },
  client_body_buffer_size: { parse: size, default: '1m' },
  client_max_header_size: { parse: size, default: '32k' },
  client_max_headers: { parse: count, default: '100' },
  client_header_timeout: { parse: duration, default: '60s' },
  client_body_timeout: { parse: duration, default: '60s' },
  client_request_timeout: { parse: duration, default: '300s' },
  upstream_allow_link_local: { parse: flag, default: 'off' },
  upstream_passive_half_open: { parse: atLeast(0), default: '0' },
  plugins_dir: { parse: str, default: '' },
  dns_resolver: { parse: nameServers, default: '' },
  dns_hostsfile: { parse: (raw) => raw.trim(), default: '/etc/hosts' },
  dns_order: { parse: dnsOrder, default: 'LAST,SRV,A,CNAME' },
  dns_valid_ttl: { parse: optionalAtLeast(0), default: '' },
  dns_stale_ttl: { parse: atLeast(0), default: '3600' },
  dns_not_found_ttl: { parse: atLeast(0), default: '30' },
  dns_error_ttl: { parse: atLeast(0), default: '1' },
  dns_no_sync: { parse: flag, default: 'off' },
  worker_processes: { parse: workers, default: 'auto' },
}

/** Kong's names for settings we call otherwise: read from files and `TURNPIKE_*` variables alike. */
const ALIASES: Record<string, keyof Settings> = { nginx_worker_processes: 'worker_processes' }

export const SETTING_NAMES = Object.keys(SPEC) as (keyof Settings)[]

/** Reads a kong.conf-style file: `name = value` lines, `#` comments. */
export function readConfigFile(path: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [i, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    const text = line.replace(/(^|\s)#.*$/, '').trim()
    if (!text) continue
    const eq = text.indexOf('=')
    if (eq < 0) throw new TurnpikeError('INVALID_OPTIONS', `${path}:${i + 1}: expected 'name = value'`)
    out[text.slice(0, eq).trim()] = text.slice(eq + 1).trim()
  }
  return out
}

/**
 * Resolves settings: defaults, then the config file, then TURNPIKE_* variables.
 * Unknown names and bad values throw, naming the setting.
 */
export function loadSettings(
  opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, string> } = {},
): Settings {
  const env = opts.env ?? process.env
  const raw: Record<string, string> = {}
  for (const name of SETTING_NAMES) raw[name] = SPEC[name].default
  if (opts.file) {
    for (const [k, v] of Object.entries(readConfigFile(opts.file))) {
      const name = ALIASES[k] ?? k
      if (!(name in SPEC)) throw new TurnpikeError('INVALID_OPTIONS', `unknown setting '${k}' in ${opts.file}`)
      raw[name] = v
    }
  }
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('TURNPIKE_') || v === undefined) continue
    const given = k.slice('TURNPIKE_'.length).toLowerCase()
    const name = ALIASES[given] ?? given
    if (name in SPEC) raw[name] = v
    else if (!IGNORED_ENV.has(name)) throw new TurnpikeError('INVALID_OPTIONS', `unknown setting '${name}' (from ${k})`)
  }
  Object.assign(raw, opts.overrides)
  const out: Record<string, unknown> = {}
  for (const name of SETTING_NAMES) out[name] = SPEC[name].parse(raw[name] ?? '', name)
  const s = out as unknown as Settings
  if (!s.database) s.database = s.role === 'data_plane' ? 'off' : s.role === 'control_plane' ? 'postgres' : 'pglite'
  if (s.role === 'data_plane' && s.database !== 'off')
    bad('database', s.database, "a data plane has no database; set it to 'off'")
  if (s.role === 'control_plane' && s.database === 'off') bad('database', 'off', 'a control plane needs a database')
  if ((s.ssl_cert === '') !== (s.ssl_cert_key === ''))
    bad(s.ssl_cert ? 'ssl_cert_key' : 'ssl_cert', '', 'ssl_cert and ssl_cert_key go together')
  return s
}

/** TURNPIKE_* variables that are read elsewhere, not settings (TURNPIKE_CONF names the config file). */
const IGNORED_ENV = new Set<string>(['conf'])

/** Settings safe to show (GET / on the Admin API): secrets redacted. */
export function redactedSettings(s: Settings): Record<string, unknown> {
  return {
    ...s,
    pg_password: s.pg_password ? '******' : '',
    admin_token: s.admin_token ? '******' : '',
    keyring_secret: s.keyring_secret ? '******' : '',
    ssl_cert_key: s.ssl_cert_key.includes('PRIVATE KEY') ? '******' : s.ssl_cert_key,
    cluster_cert_key: s.cluster_cert_key.includes('PRIVATE KEY') ? '******' : s.cluster_cert_key,
  }
}
