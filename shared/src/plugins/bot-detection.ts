import type { FieldDef } from '../schema/types.ts'
import { HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

const regexList: FieldDef = {
  type: 'array',
  default: [],
  elements: {
    type: 'string',
    custom: (v) => {
      try {
        new RegExp(v as string, 'u')
        return undefined
      } catch {
        return `not a valid regex: ${v}`
      }
    },
  },
}

/** bot-detection's validated config. */
export interface BotDetectionConfig {
  allow: string[]
  deny: string[]
}

/** bot-detection: rejects requests whose User-Agent matches known bots or a deny list. */
export const botDetection = definePlugin({
  name: 'bot-detection',
  priority: 2500,
  phases: ['access'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  // Regexes matched against User-Agent; `allow` wins over `deny` and the built-in bot list.
  config: { allow: regexList, deny: regexList },
})
