/** Option parsing shared by the commands: `--conf` plus per-command flags, with clear errors. */
import { parseArgs } from 'node:util'
import { loadSettings, type Settings, TurnpikeError } from '@turnpike/shared'

export interface ParsedCommand {
  settings: Settings
  positionals: string[]
  help: boolean
}

/** Parses `-c/--conf` and `-h/--help`, then loads settings (file, then TURNPIKE_* environment). */
export function parseCommand(args: string[]): ParsedCommand {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: { conf: { type: 'string'; short: 'c' }; help: { type: 'boolean'; short: 'h' } }
      allowPositionals: true
    }>
  >
  try {
    parsed = parseArgs({
      args,
      options: { conf: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    })
  } catch (e) {
    throw new TurnpikeError('INVALID_OPTIONS', (e as Error).message)
  }
  const help = parsed.values.help === true
  const settings = help ? ({} as Settings) : loadSettings({ file: parsed.values.conf ?? process.env.TURNPIKE_CONF })
  return { settings, positionals: parsed.positionals, help }
}
