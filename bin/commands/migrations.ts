/** `turnpike migrations up|status` against the configured database. */
import { openDatabase, runMigrations } from '@turnpike/control-plane'
import { createLogger, TurnpikeError } from '@turnpike/shared'
import { parseCommand } from './options.ts'

const HELP = `Usage: turnpike migrations <up|status> [-c FILE]

  up       Apply pending migrations to the configured database
  status   Show applied and pending migrations
`

export async function migrationsCommand(args: string[]): Promise<number> {
  const { settings, positionals, help } = parseCommand(args)
  const action = positionals[0]
  if (help || !action) {
    process.stdout.write(HELP)
    return help ? 0 : 1
  }
  if (action !== 'up' && action !== 'status')
    throw new TurnpikeError('INVALID_OPTIONS', `unknown migrations action '${action}' (expected up or status)`)
  if (settings.database === 'off')
    throw new TurnpikeError('INVALID_OPTIONS', 'migrations need a database (database=off)')
  const logger = createLogger(settings.log_level)
  const db = await openDatabase(settings, logger)
  try {
    const result = await runMigrations(db, logger, action)
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  } finally {
    await db.destroy()
  }
  return 0
}
