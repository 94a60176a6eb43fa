/**
 * `turnpike config validate|diff|import|export`: Kong declarative files against the configured database (Postgres,
 * or the embedded PGlite directory while no node holds it), or against a running node with `--admin-url`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  type ConfigDiff,
  type Database,
  DeclarativeConfigError,
  diffConfig,
  formatDiff,
  hasDrift,
  type ImportProgress,
  importDeclarative,
  openDatabase,
  readConfig,
  runMigrations,
  summarizeDiff,
} from '@turnpike/control-plane'
import {
  type ConfigEntities,
  createLogger,
  type DeclarativeConfig,
  type DeclarativeErrors,
  describeDeclarativeErrors,
  type EntityDef,
  type EntityRow,
  exportDeclarative,
  isHashedApiKey,
  isHashedPassword,
  loadSettings,
  materializeEntities,
  parseDeclarative,
  publicEntities,
  type Settings,
  TurnpikeError,
} from '@turnpike/shared'

const COMMON = `Options:
  -c, --conf FILE         Settings file (kong.conf style); TURNPIKE_* variables apply too
  --admin-url URL         Work against a running node's Admin API instead of the database
  --admin-token TOKEN     Admin token for --admin-url (default: TURNPIKE_ADMIN_TOKEN)
  -h, --help              This help
`

const HELP: Record<string, string> = {
  '': `Usage: turnpike config <command> [FILE] [options]

Kong's declarative config (_format_version 1.1, 2.1 or 3.0; YAML or JSON; nested or flat).

Commands:
  validate FILE   Check FILE without touching any database (exit 1 when invalid)
  diff FILE       Show what importing FILE would create, update and delete (exit 2 on drift)
  import FILE     Make the configuration exactly FILE, in one transaction, and print the diff applied
  export          Write the configuration as a declarative file (stdout, or -o FILE)

The database is the one the settings name: Postgres, or the embedded PGlite directory under
TURNPIKE_PREFIX, which only a stopped node lets go of (use --admin-url for a running one).

${COMMON}`,
  validate: `Usage: turnpike config validate FILE [options]

Parses FILE, validates every entity and reference, and prints a summary or one line per invalid
entity. Needs no database. Exit status: 0 valid, 1 invalid.

${COMMON}`,
  diff: `Usage: turnpike config diff FILE [options]

Compares FILE with the configuration and prints one line per change:
  + services example           to create
  ~ routes r1 (paths, hosts)   to update (changed fields)
  - consumers bob              to delete (entities FILE does not have)
Exit status: 0 no drift, 2 drift, 1 error. With --admin-url, plaintext secrets in FILE (key-auth
keys, basic-auth passwords) cannot be compared with the node's hashed ones and are left out.

${COMMON}`,
  import: `Usage: turnpike config import FILE [options]

Makes the configuration exactly FILE: creates, updates and deletes in one database transaction
(all or nothing, one config revision), then prints the diff applied. Plaintext API keys and
passwords are hashed; already hashed ones (from an export) are kept. Progress goes to stderr.
With --admin-url: a DB-less node gets FILE through POST /config (atomic); a database-backed node
gets the diff through its entity endpoints, one request per entity (not atomic).

${COMMON}`,
  export: `Usage: turnpike config export [-o FILE] [--format yaml|json] [options]

Writes the configuration as a _format_version 3.0 file: decK's nesting, stable order, no default
values, credential secrets in their hashed form (they re-import as they are).

  -o, --output FILE       Write to FILE instead of stdout
  --format yaml|json      Output syntax (default: from the -o extension, else yaml)
${COMMON}`,
}

interface Options {
  settings: () => Settings
  adminUrl?: string
  adminToken?: string
  output?: string
  format?: 'yaml' | 'json'
}

function usage(message: string): TurnpikeError {
  return new TurnpikeError('INVALID_OPTIONS', message)
}

const err = (line: string) => process.stderr.write(`${line}\n`)
const out = (line: string) => process.stdout.write(`${line}\n`)

function readFile(path: string | undefined): string {
  if (!path) throw usage('missing FILE')
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw usage(`cannot read ${path}: ${(e as Error).message}`)
  }
}

function printErrors(file: string, errors: DeclarativeErrors): void {
  const lines = describeDeclarativeErrors(errors)
  err(`${file}: invalid declarative config (${lines.length} error${lines.length === 1 ? '' : 's'}):`)
  for (const line of lines) err(`  ${line}`)
}

function counts(entities: ConfigEntities): string {
  const parts = publicEntities.flatMap((d) => {
    const n = entities[d.name]?.length ?? 0
    return n ? [`${n} ${d.name}`] : []
  })
  return parts.length ? parts.join(', ') : 'no entities'
}

/** Parses FILE; prints its errors and returns undefined when invalid. */
function parseFile(path: string | undefined): DeclarativeConfig | undefined {
  const text = readFile(path)
  const started = Date.now()
  const parsed = parseDeclarative(text, { filename: path })
  if (!parsed.ok) {
    printErrors(path ?? '', parsed.errors)
    return undefined
  }
  for (const w of parsed.warnings) err(`warning: ${w}`)
  err(`parsed and validated ${path}: ${counts(parsed.entities)} (${Date.now() - started} ms)`)
  return parsed
}

/** Reports import progress on stderr: phases, then rows written about every tenth. */
function progressPrinter(): (p: ImportProgress) => void {
  let nextMark = 0
  return (p) => {
    if (p.phase === 'read') err('reading the current configuration')
    else if (p.phase === 'prepare') err('hashing credentials and comparing')
    else if (p.done >= nextMark || p.done === p.total) {
      err(`${p.done}/${p.total} rows written`)
      nextMark = p.done + Math.max(1, Math.ceil(p.total / 10))
    }
  }
}

async function withDatabase<T>(settings: Settings, migrate: boolean, fn: (db: Database) => Promise<T>): Promise<T> {
  if (settings.database === 'off')
    throw usage('database is off: a DB-less node keeps no database; use --admin-url to reach a running one')
  const logger = createLogger('silent')
  const db = await openDatabase(settings, logger)
  try {
    const status = await runMigrations(db, logger, 'status')
    if (status.pending.length) {
      if (!migrate)
        throw new TurnpikeError(
          'DATABASE_ERROR',
          `the database schema is not up to date (${status.pending.length} pending migrations); run 'turnpike migrations up'`,
        )
      await runMigrations(db, logger, 'up')
    }
    return await fn(db)
  } finally {
    await db.destroy()
  }
}

function printDiff(diff: ConfigDiff, context: ConfigEntities[]): void {
  for (const line of formatDiff(diff, context)) out(line)
}

// ---- --admin-url ----

interface Remote {
  url: string
  token?: string
}

async function request(remote: Remote, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (remote.token) headers.authorization = `Bearer ${remote.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(new URL(path, remote.url), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (e) {
    throw new TurnpikeError('BAD_REQUEST', `cannot reach ${remote.url}: ${(e as Error).message}`)
  }
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    // Not JSON: reported by the caller through the status.
  }
  return { status: res.status, json, text }
}

function remoteFailure(what: string, r: { status: number; json: Record<string, unknown>; text: string }) {
  const message = typeof r.json.message === 'string' ? r.json.message : r.text.slice(0, 500)
  return new TurnpikeError('BAD_REQUEST', `${what}: HTTP ${r.status}: ${message}`)
}

async function remoteIsDbless(remote: Remote): Promise<boolean> {
  const r = await request(remote, 'GET', '/')
  if (r.status !== 200) throw remoteFailure(`GET ${remote.url}/`, r)
  return (r.json.configuration as { database?: string } | undefined)?.database === 'off'
}

async function remoteExport(remote: Remote): Promise<string> {
  const r = await request(remote, 'GET', '/config')
  if (r.status !== 200 || typeof r.json.config !== 'string') throw remoteFailure('GET /config', r)
  return r.json.config
}

async function remoteEntities(remote: Remote): Promise<ConfigEntities> {
  const parsed = parseDeclarative(await remoteExport(remote), { filename: 'config.yaml' })
  if (!parsed.ok) throw new TurnpikeError('BAD_REQUEST', `the node's export does not parse: ${parsed.errors.message}`)
  return parsed.entities
}

/** A remote node hashes with a secret we do not have: plaintext secrets (and unset generated keys) are not compared. */
function remoteIgnore(def: EntityDef, _before: EntityRow, after: EntityRow): string[] {
  return Object.entries(def.fields).flatMap(([name, f]) => {
    const v = after[name]
    if (f.auto && f.type === 'string' && (v === null || v === undefined)) return [name]
    if (f.hashed && typeof v === 'string' && !isHashedApiKey(v) && !isHashedPassword(v)) return [name]
    return []
  })
}

/** Applies a diff through entity endpoints: PUT by id in dependency order, DELETE in reverse. */
async function remoteApply(remote: Remote, diff: ConfigDiff): Promise<void> {
  const defs = new Map(publicEntities.map((d) => [d.name, d]))
  const total = diff.collections.reduce((n, c) => n + c.create.length + c.update.length + c.delete.length, 0)
  let done = 0
  const report = progressPrinter()
  const body = (def: EntityDef, row: EntityRow) => {
    const b: Record<string, unknown> = {}
    for (const [name, f] of Object.entries(def.fields)) {
      if (name === 'created_at' || name === 'updated_at') continue
      if (f.auto && (row[name] === null || row[name] === undefined)) continue
      b[name] = row[name]
    }
    return b
  }
  for (const c of diff.collections) {
    const def = defs.get(c.collection)
    if (!def?.admin_path) continue
    for (const row of [...c.create, ...c.update.map((u) => u.after)]) {
      const r = await request(remote, 'PUT', `/${def.admin_path}/${row.id}`, body(def, row))
      if (r.status >= 300) throw remoteFailure(`PUT /${def.admin_path}/${row.id} (${done}/${total} applied)`, r)
      report({ phase: 'write', done: ++done, total })
    }
  }
  for (const c of [...diff.collections].reverse()) {
    const def = defs.get(c.collection)
    if (!def?.admin_path) continue
    for (const row of c.delete) {
      const r = await request(remote, 'DELETE', `/${def.admin_path}/${row.id}`)
      if (r.status >= 300 && r.status !== 404)
        throw remoteFailure(`DELETE /${def.admin_path}/${row.id} (${done}/${total} applied)`, r)
      report({ phase: 'write', done: ++done, total })
    }
  }
}

// ---- commands ----

async function validate(file: string | undefined): Promise<number> {
  const parsed = parseFile(file)
  if (!parsed) return 1
  // Under `_transform: false` secrets must already be hashed; checking that needs no keyring.
  if (!parsed.transform) {
    const m = await materializeEntities(parsed.entities, { transform: false })
    if (!m.ok) {
      printErrors(file ?? '', m.errors)
      return 1
    }
  }
  out(`${file}: valid (${counts(parsed.entities)})`)
  return 0
}

async function diff(file: string | undefined, o: Options): Promise<number> {
  const parsed = parseFile(file)
  if (!parsed) return 1
  let result: ConfigDiff
  let context: ConfigEntities[]
  if (o.adminUrl) {
    const current = await remoteEntities({ url: o.adminUrl, token: o.adminToken })
    result = diffConfig(current, parsed.entities, { ignore: remoteIgnore })
    context = [current, parsed.entities]
  } else {
    const settings = o.settings()
    const r = await withDatabase(settings, false, (db) =>
      importDeclarative(db, parsed.entities, {
        dryRun: true,
        transform: parsed.transform,
        keyringSecret: settings.keyring_secret || undefined,
      }),
    )
    result = r.diff
    context = [r.current, r.desired]
  }
  printDiff(result, context)
  out(summarizeDiff(result))
  return hasDrift(result) ? 2 : 0
}

async function importFile(file: string | undefined, o: Options): Promise<number> {
  const parsed = parseFile(file)
  if (!parsed) return 1
  if (o.adminUrl) {
    const remote = { url: o.adminUrl, token: o.adminToken }
    const current = await remoteEntities(remote)
    const result = diffConfig(current, parsed.entities, { ignore: remoteIgnore })
    if (await remoteIsDbless(remote)) {
      const r = await request(remote, 'POST', '/config?flatten_errors=1', { config: readFile(file) })
      if (r.status === 400 && Array.isArray(r.json.flattened_errors)) {
        printErrors(file ?? '', r.json as unknown as DeclarativeErrors)
        return 1
      }
      if (r.status !== 201) throw remoteFailure('POST /config', r)
    } else {
      err(`applying ${summarizeDiff(result)} through ${remote.url} entity endpoints (not one transaction)`)
      await remoteApply(remote, result)
    }
    printDiff(result, [current, parsed.entities])
    out(summarizeDiff(result, true))
    return 0
  }
  const settings = o.settings()
  try {
    const r = await withDatabase(settings, true, (db) =>
      importDeclarative(db, parsed.entities, {
        transform: parsed.transform,
        keyringSecret: settings.keyring_secret || undefined,
        onProgress: progressPrinter(),
      }),
    )
    printDiff(r.diff, [r.current, r.desired])
    out(`${summarizeDiff(r.diff, true)}${r.version === undefined ? '' : ` (config version ${r.version})`}`)
    return 0
  } catch (e) {
    if (!(e instanceof DeclarativeConfigError)) throw e
    printErrors(file ?? '', e.errors)
    err('nothing was written')
    return 1
  }
}

async function exportConfig(o: Options): Promise<number> {
  const format = o.format ?? (o.output?.toLowerCase().endsWith('.json') ? 'json' : 'yaml')
  let text: string
  if (o.adminUrl) {
    const remote = { url: o.adminUrl, token: o.adminToken }
    text = format === 'yaml' ? await remoteExport(remote) : exportDeclarative(await remoteEntities(remote), { format })
  } else {
    const { entities } = await withDatabase(o.settings(), false, (db) => readConfig(db))
    text = exportDeclarative(entities, { format })
  }
  if (o.output) {
    writeFileSync(o.output, text)
    err(`wrote ${o.output}`)
  } else process.stdout.write(text)
  return 0
}

export async function configCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>
  try {
    parsed = parseOptions(args)
  } catch (e) {
    throw usage((e as Error).message)
  }
  const { values, positionals } = parsed
  const [action = '', file, ...extra] = positionals
  if (values.help || !action) {
    process.stdout.write(HELP[action] ?? HELP[''] ?? '')
    return values.help ? 0 : 1
  }
  if (!(action in HELP) || action === '')
    throw usage(`unknown config command '${action}' (validate, diff, import, export)`)
  if (extra.length || (action === 'export' && file)) throw usage(`unexpected argument '${extra[0] ?? file}'`)
  const format = values.format
  if (format !== undefined && format !== 'yaml' && format !== 'json') throw usage('--format must be yaml or json')
  const options: Options = {
    settings: () => loadSettings({ file: values.conf ?? process.env.TURNPIKE_CONF }),
    adminUrl: values['admin-url'],
    adminToken: values['admin-token'] ?? process.env.TURNPIKE_ADMIN_TOKEN,
    output: values.output,
    format,
  }
  if (action === 'validate') return validate(file)
  if (action === 'diff') return diff(file, options)
  if (action === 'import') return importFile(file, options)
  return exportConfig(options)
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      conf: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      'admin-url': { type: 'string' },
      'admin-token': { type: 'string' },
      output: { type: 'string', short: 'o' },
      format: { type: 'string' },
    },
  })
}
