/** Node settings: Kong's `kong.conf` names, read from a config file and `TURNPIKE_*` environment variables. */
import { readFileSync } from 'node:fs'
import { TurnpikeError } from './errors.ts'

export interface ListenAddress {
  host: string
  port: number
  ssl: boolean
  http2: boolean
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
  status_listen: ListenAddress[]
  cluster_listen: ListenAddress[]
  /** host:port of the control plane a data plane dials. */
  cluster_control_plane: string
  cluster_mtls: 'off' | 'shared' | 'pki'
  declarative_config: string
  log_level: string
}

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
    for (const f of flags)
      if (!['ssl', 'http2', 'reuseport', 'backlog', 'proxy_protocol'].includes(f.split('=')[0] ?? ''))
        bad(name, raw, `unknown flag '${f}'`)
    return { host: m[1] ?? m[2] ?? '', port, ssl: flags.includes('ssl'), http2: flags.includes('http2') }
  })
}

const listen: Parser = (raw, name) => parseListen(raw, name)

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
  status_listen: { parse: listen, default: '0.0.0.0:8100' },
  cluster_listen: { parse: listen, default: '0.0.0.0:8005' },
  cluster_control_plane: { parse: str, default: '127.0.0.1:8005' },
  cluster_mtls: { parse: oneOf('off', 'shared', 'pki'), default: 'off' },
  declarative_config: { parse: str, default: '' },
  log_level: { parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), default: 'info' },
}

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
      if (!(k in SPEC)) throw new TurnpikeError('INVALID_OPTIONS', `unknown setting '${k}' in ${opts.file}`)
      raw[k] = v
    }
  }
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('TURNPIKE_') || v === undefined) continue
    const name = k.slice('TURNPIKE_'.length).toLowerCase()
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
  return s
}

/** TURNPIKE_* variables that are read elsewhere, not settings (TURNPIKE_CONF names the config file). */
const IGNORED_ENV = new Set<string>(['conf'])

/** Settings safe to show (GET / on the Admin API): secrets redacted. */
export function redactedSettings(s: Settings): Record<string, unknown> {
  return { ...s, pg_password: s.pg_password ? '******' : '' }
}
