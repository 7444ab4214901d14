/**
 * The ORM: tables declared in TypeScript, typed query builders compiled to TinyChain IR.
 */
export { col, Column, DTYPE_PATHS, type AnyColumn, type ColumnMigration, type ColumnSpec, type DTypeName, type Int64Options, type JsonSchema, type OnDelete, type ReferenceOptions, type ReferenceTarget } from "./columns.js";
export {
  table,
  Table,
  type AnyTable,
  type ColumnsShape,
  type ColumnValue,
  type EdgeDecl,
  type IndexDecl,
  type Insertable,
  type InsertOf,
  type Row,
  type RowOf,
  type Updateable,
  type UpdateOf,
} from "./table.js";
export { schema, type AnySchema, type Schema, type TablesShape } from "./schema.js";
export type { ColumnJson, ColumnMeta, ColumnOptionsJson, EdgeMeta, ForeignKeyMeta, IndexMeta, IndexOrigin, SchemaJson, TableMeta } from "./meta.js";
export { columnZod, rowValidators, type RowValidators } from "./validate.js";
export { connect, OrmDb, type AnyTableOf, type BatchResults, type OrmOptions, type TableName, type TableOf } from "./db.js";
export type { SelectQueryBuilder, StreamOptions } from "./select-builder.js";
export type { InsertInto, InsertQueryBuilder } from "./insert-builder.js";
export type { UpdateQueryBuilder } from "./update-builder.js";
export type { DeleteQueryBuilder } from "./delete-builder.js";
export type { Args, Statement } from "./statement.js";
export type { CompiledQuery } from "./compile-types.js";
export type { Explanation } from "./planner.js";
export type { ConflictAction, Operator } from "./nodes.js";
export type { SyncReport } from "./sync.js";
export type { MigrationResult } from "./migrate.js";
export type { MigrationPlan, TableChange, CellSource } from "./migration-plan.js";
export { HISTORY_TABLE, type MigrationRecord } from "./migration-history.js";
export { schemaDiff, tableLiteral } from "./sync.js";
export { REDACTED, type LogOptions, type QueryLogEntry, type QueryLogger } from "./query-log.js";
