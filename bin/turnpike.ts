#!/usr/bin/env node
/** The `turnpike` command: one entry point for every role and the operator tools. */
import { TurnpikeError } from '@turnpike/shared'
import { certCommand } from './commands/cert.ts'
import { configCommand } from './commands/config.ts'
import { migrationsCommand } from './commands/migrations.ts'
import { reloadCommand } from './commands/reload.ts'
import { startCommand } from './commands/start.ts'

const HELP = `Usage: turnpike <command> [options]

Commands:
  start                 Run a node (role from settings: traditional, control_plane or data_plane)
  reload                Make the running node re-read its settings and declarative file (SIGHUP)
  config validate FILE  Check a declarative config file (Kong's _format_version 3.0 YAML/JSON)
  config diff FILE      Show what importing FILE would change (exit 2 on drift)
  config import FILE    Make the configuration exactly FILE, in one transaction
  config export         Write the configuration as a declarative file
  cert gen              Make a shared cluster certificate pair (cluster_mtls = shared)
  migrations up         Apply pending database migrations
  migrations status     List applied and pending migrations
  version               Print the Turnpike version

Options:
  -c, --conf FILE       Read settings from a kong.conf-style file (name = value)
  -h, --help            Show help for a command

Settings come from the config file and TURNPIKE_* environment variables named after
kong.conf keys: TURNPIKE_ROLE, TURNPIKE_DATABASE, TURNPIKE_PG_HOST, TURNPIKE_PROXY_LISTEN,
TURNPIKE_ADMIN_LISTEN, TURNPIKE_STATUS_LISTEN, TURNPIKE_CLUSTER_LISTEN,
TURNPIKE_CLUSTER_CONTROL_PLANE, TURNPIKE_PREFIX … (see README.md).
`

const commands: Record<string, (args: string[]) => Promise<number>> = {
  start: startCommand,
  cert: certCommand,
  config: configCommand,
  migrations: migrationsCommand,
  reload: reloadCommand,
  version: async () => {
    const { TURNPIKE_VERSION } = await import('@turnpike/shared')
    process.stdout.write(`${TURNPIKE_VERSION}\n`)
    return 0
  },
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(HELP)
    return name ? 0 : 1
  }
  const command = commands[name]
  if (!command) {
    process.stderr.write(`turnpike: unknown command '${name}'\n\n${HELP}`)
    return 1
  }
  return command(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code
  },
  (err: unknown) => {
    const message = err instanceof TurnpikeError || err instanceof TypeError ? err.message : String(err)
    process.stderr.write(`turnpike: ${message}\n`)
    if (!(err instanceof TurnpikeError)) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
    process.exitCode = 1
  },
)
