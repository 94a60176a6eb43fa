/** `turnpike cert gen`: a shared cluster certificate pair for `cluster_mtls = shared` (Kong's `kong hybrid gen_cert`). */
import { constants } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { generateSelfSigned, SHARED_SERVER_NAME, TurnpikeError } from '@turnpike/shared'

const HELP = `Usage: turnpike cert gen [--cn NAME] [--days N] [-o DIR] [--force]

Writes DIR/cluster.crt and DIR/cluster.key: a self-signed ECDSA P-256 certificate that every
control plane and data plane of one cluster presents (cluster_mtls = shared). Point
TURNPIKE_CLUSTER_CERT and TURNPIKE_CLUSTER_CERT_KEY at them (or put their PEM text there).

  --cn NAME    common name and DNS name (default ${SHARED_SERVER_NAME})
  --days N     validity in days (default 1095, three years as Kong)
  -o, --out    directory to write to (default: the current directory)
  --force      overwrite existing files
`

export async function certCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(args)
  } catch (err) {
    throw new TurnpikeError('INVALID_OPTIONS', (err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help || positionals[0] !== 'gen') {
    process.stdout.write(HELP)
    return values.help ? 0 : 1
  }
  const days = Number(values.days)
  if (!Number.isInteger(days) || days < 1 || days > 36_500)
    throw new TurnpikeError(
      'INVALID_OPTIONS',
      `--days must be a whole number of days from 1 to 36500, got '${values.days}'`,
    )
  const cn = values.cn
  if (!/^[A-Za-z0-9*]([A-Za-z0-9._*-]{0,62})$/.test(cn))
    throw new TurnpikeError(
      'INVALID_OPTIONS',
      `--cn must be a host-like name (letters, digits, '.', '-', '_'), got '${cn}'`,
    )
  const dir = resolve(values.out)
  await mkdir(dir, { recursive: true })
  const pair = generateSelfSigned(cn, days)
  const certPath = join(dir, 'cluster.crt')
  const keyPath = join(dir, 'cluster.key')
  // Without --force, an existing pair is never clobbered: every node of the cluster would need the new one.
  const flags = values.force ? 'w' : constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY
  try {
    await writeFile(keyPath, pair.key, { mode: 0o600, flag: flags as never })
    await writeFile(certPath, pair.cert, { mode: 0o644, flag: flags as never })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new TurnpikeError(
        'INVALID_OPTIONS',
        `${(err as NodeJS.ErrnoException).path} exists; use --force to replace it`,
      )
    throw err
  }
  process.stdout.write(
    `wrote ${certPath} and ${keyPath} (CN=${cn}, valid ${days} days)\n` +
      `set on every node: TURNPIKE_CLUSTER_MTLS=shared TURNPIKE_CLUSTER_CERT=${certPath} TURNPIKE_CLUSTER_CERT_KEY=${keyPath}\n`,
  )
  return 0
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      cn: { type: 'string', default: SHARED_SERVER_NAME },
      days: { type: 'string', default: '1095' },
      out: { type: 'string', short: 'o', default: '.' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
}
