/** Kong's declarative config: parse (YAML/JSON, nested or flat), materialize for storage, compare, export. */
export { BOOKKEEPING_FIELDS, changedFields, sameField } from './compare-entities.ts'
export {
  type DeclarativeErrors,
  describeDeclarativeErrors,
  type FlatEntityError,
  type FlatFieldError,
} from './declarative-errors.ts'
export { declarativeId, identityKey, uuidV5 } from './entity-id.ts'
export { declarativeDocument, type ExportOptions, exportDeclarative } from './export-declarative.ts'
export {
  type MaterializeOptions,
  type MaterializeResult,
  materializeEntities,
} from './materialize-entities.ts'
export {
  type DeclarativeConfig,
  type DeclarativeParseOptions,
  type DeclarativeParseResult,
  declarativeHash,
  FORMAT_VERSIONS,
  loadDeclarative,
  parseDeclarative,
  uniqueConstraints,
  uniqueTuple,
} from './parse-declarative.ts'
