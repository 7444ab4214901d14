/**
 * `schema({ namespace, tables })`: resolves a set of table declarations into frozen metadata
 * (foreign keys, relation names, the indexes foreign-key hops need) and the PROFILE §3 schema
 * JSON of every table. Everything derived here is a pure function of the declaration, built from
 * arrays in declaration order, so the same declaration yields byte-identical JSON in any process.
 */
import { relationsOf } from "./relations.js";
import { BadRequestError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import { DTYPE_FORMATS, DTYPE_PATHS, type AnyColumn } from "./columns.js";
import type {
  ColumnJson,
  ColumnOptionsJson,
  ColumnMeta,
  EdgeMeta,
  ForeignKeyMeta,
  IndexMeta,
  SchemaJson,
  TableMeta,
} from "./meta.js";
import type { AnyTable } from "./table.js";
import { rowValidators, type RowValidators } from "./validate.js";
import { showValue } from "../ir/show-value.js";

/** The tables of a schema, by table name. */
export type TablesShape = Record<string, AnyTable>;

/**
 * A resolved schema. `tables` are the declarations; `meta(name)` and `tableMetas` the resolved
 * metadata; `json()` the schema JSON of every table.
 */
export interface Schema<NS extends string = string, T extends TablesShape = TablesShape> {
  readonly namespace: NS;
  readonly tables: Readonly<T>;
  /** Resolved metadata, in declaration order. */
  readonly tableMetas: readonly TableMeta[];
  /** Metadata of one table; throws `NotFound`-style `BadRequestError` for an unknown name. */
  meta(name: string): TableMeta;
  /** zod validators of one table (insert, select, update), typed by its row types. */
  validators<K extends keyof T & string>(name: K): RowValidators<T[K]["$row"], T[K]["$insert"], T[K]["$update"]>;
  /** `{ "<table>": <schema JSON>, … }` in declaration order. */
  json(): Record<string, SchemaJson>;
}

/** Any resolved schema. */
export type AnySchema = Schema<string, TablesShape>;

function check(name: unknown, what: string): string {
  const problem = idProblem(name);
  if (problem) throw new BadRequestError(`invalid ${what} ${showValue(name)}: ${problem}`);
  return name as string;
}

function columnJson(c: ColumnMeta, fk: ForeignKeyMeta | undefined, namespace: string): ColumnJson {
  // Options in sorted order, as the kernel writes them (PROFILE §3).
  const opts: { -readonly [K in keyof ColumnOptionsJson]: ColumnOptionsJson[K] } = {};
  const format = DTYPE_FORMATS[c.dtype];
  if (format !== undefined) opts.format = format;
  if (c.generated !== undefined) opts.generated = c.generated;
  if (c.nullable) opts.nullable = true;
  if (fk?.enforced) opts.references = { on_delete: fk.onDelete, table: `/state/${namespace}/${fk.targetTable}` };
  if (c.values !== undefined) opts.values = [...c.values];
  if (Object.keys(opts).length > 0) return [c.name, c.dtypePath, c.maxLen, opts];
  if (c.maxLen !== null) return [c.name, c.dtypePath, c.maxLen];
  return [c.name, c.dtypePath];
}

/** A generated key: `autoIncrement()` on an integer key column, `defaultRandom()` on a uuid key column. */
function generatedOf(table: string, column: string, c: AnyColumn): "increment" | "random" {
  const g = c.spec.generated!;
  const ints = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"];
  if (g === "increment" && (!c.spec.key || !ints.includes(c.spec.dtype))) {
    throw new BadRequestError(`table ${table}: column ${column}: autoIncrement() is for an integer key column`);
  }
  if (g === "random" && (!c.spec.key || c.spec.dtype !== "uuid")) {
    throw new BadRequestError(`table ${table}: column ${column}: defaultRandom() is for a uuid key column`);
  }
  return g;
}

function defaultRelationName(column: string): string {
  const stripped = column.replace(/_id$/, "");
  return stripped.length > 0 ? stripped : column;
}

/**
 * Resolves table declarations into a schema under `/state/<namespace>/…`.
 *
 * Foreign keys: each `.references()` column must match the target's single key column in type.
 * For every foreign-key column an index named `fk_<column>` is added unless the primary index or
 * an existing index already starts with that column, so the hop target → source (find the rows
 * pointing at a key) is always an index range. `.unique()` columns get an index `unique_<column>`.
 *
 * @example
 * ```ts
 * export const social = schema({ namespace: "social", tables: { users, follows, posts } });
 * social.json().users; // [[[["id", "/state/scalar/value/number/uint/64"]], [...]], [...]]
 * ```
 */
export function schema<NS extends string, T extends TablesShape>(def: { namespace: NS; tables: T }): Schema<NS, T> {
  if (typeof def !== "object" || def === null) throw new BadRequestError("schema() takes { namespace, tables }");
  const namespace = check(def.namespace, "schema namespace") as NS;
  const tables = def.tables;
  if (typeof tables !== "object" || tables === null || Object.keys(tables).length === 0) {
    throw new BadRequestError(`schema ${namespace}: tables must be a non-empty object of table declarations`);
  }
  const byName = new Map<string, AnyTable>();
  for (const [key, t] of Object.entries(tables)) {
    if (!t || typeof t !== "object" || typeof t.name !== "string" || !t.columns) {
      throw new BadRequestError(`schema ${namespace}: tables.${key} is not a table() declaration`);
    }
    if (t.name !== key) {
      throw new BadRequestError(
        `schema ${namespace}: tables.${key} is the table ${showValue(t.name)}; use the table's name as its key ({ ${t.name} })`,
      );
    }
    byName.set(key, t);
  }

  // Pass 1: columns in tuple order.
  const columnsOf = new Map<string, ColumnMeta[]>();
  for (const [name, t] of byName) {
    const entries = Object.entries(t.columns as Record<string, AnyColumn>);
    const ordered = [...entries.filter(([, c]) => c.spec.key), ...entries.filter(([, c]) => !c.spec.key)];
    columnsOf.set(
      name,
      ordered.map(([cname, c], position) =>
        Object.freeze({
          name: cname,
          dtype: c.spec.dtype,
          dtypePath: DTYPE_PATHS[c.spec.dtype],
          maxLen: c.spec.maxLen,
          nullable: c.spec.nullable,
          key: c.spec.key,
          unique: c.spec.unique,
          hasDefault: c.spec.hasDefault,
          default: c.spec.default,
          position,
          ...(c.spec.mode !== undefined ? { mode: c.spec.mode } : {}),
          ...(c.spec.values !== undefined ? { values: c.spec.values } : {}),
          ...(c.spec.jsonSchema !== undefined ? { jsonSchema: c.spec.jsonSchema } : {}),
          ...(c.spec.generated !== undefined ? { generated: generatedOf(name, cname, c) } : {}),
        }),
      ),
    );
  }

  // Pass 2: foreign keys (targets resolved by name, lazily, so self-references work).
  const fksOf = new Map<string, Omit<ForeignKeyMeta, "inverse" | "index">[]>();
  const explicitInverse = new Map<string, string | undefined>();
  for (const [name, t] of byName) {
    const list: Omit<ForeignKeyMeta, "inverse" | "index">[] = [];
    for (const [cname, c] of Object.entries(t.columns as Record<string, AnyColumn>)) {
      const ref = c.spec.references;
      if (!ref) continue;
      let target: { name: string } | undefined;
      try {
        target = ref.target();
      } catch (e) {
        throw new BadRequestError(`table ${name}: column ${cname}: references() target failed: ${String(e)}`);
      }
      const targetName = target?.name;
      if (typeof targetName !== "string" || !byName.has(targetName)) {
        throw new BadRequestError(
          `table ${name}: column ${cname} references ${showValue(targetName)}, which is not a table of schema ${namespace}`,
        );
      }
      const targetKeys = columnsOf.get(targetName)!.filter((k) => k.key);
      if (targetKeys.length !== 1) {
        throw new BadRequestError(
          `table ${name}: column ${cname} references ${targetName}, whose key has ${targetKeys.length} columns; a foreign key needs a single-column key`,
        );
      }
      const tk = targetKeys[0]!;
      if (tk.dtype !== c.spec.dtype || tk.maxLen !== c.spec.maxLen) {
        throw new BadRequestError(
          `table ${name}: column ${cname} (${describe(c.spec.dtype, c.spec.maxLen)}) references ${targetName}.${tk.name} (${describe(tk.dtype, tk.maxLen)}); the types must be equal`,
        );
      }
      const relName = ref.options.name === undefined ? defaultRelationName(cname) : check(ref.options.name, `relation name of ${name}.${cname}`);
      if (ref.options.inverse !== undefined) check(ref.options.inverse, `inverse relation name of ${name}.${cname}`);
      explicitInverse.set(`${name}.${cname}`, ref.options.inverse);
      const onDelete = ref.options.onDelete ?? "restrict";
      if (onDelete === "set null" && !c.spec.nullable) {
        throw new BadRequestError(`table ${name}: column ${cname} references ${targetName} with onDelete "set null", so it must be nullable`);
      }
      const enforced = ref.options.enforce !== false;
      list.push({ table: name, column: cname, targetTable: targetName, targetColumn: tk.name, name: relName, onDelete, enforced });
    }
    fksOf.set(name, list);
  }

  // Pass 3: inverse names (default: the source table's name when it points at the target once).
  const fkCount = new Map<string, number>();
  for (const list of fksOf.values()) {
    for (const fk of list) fkCount.set(`${fk.table}->${fk.targetTable}`, (fkCount.get(`${fk.table}->${fk.targetTable}`) ?? 0) + 1);
  }
  const inversesInto = new Map<string, Set<string>>();
  const metas: TableMeta[] = [];
  for (const [name, t] of byName) {
    const columns = columnsOf.get(name)!;
    const columnsByName: Record<string, ColumnMeta> = Object.create(null);
    for (const c of columns) columnsByName[c.name] = c;
    const keyColumns = columns.filter((c) => c.key).map((c) => c.name);
    const valueColumns = columns.filter((c) => !c.key).map((c) => c.name);

    const indexes: IndexMeta[] = t.indexes.map((i) => Object.freeze({ name: i.name, columns: Object.freeze([...i.columns]), origin: "declared" as const }));
    const addIndex = (index: IndexMeta): void => {
      if (indexes.some((i) => i.name === index.name)) {
        throw new BadRequestError(`table ${name}: index name ${index.name} is taken; it is needed for ${index.origin} column ${index.columns[0]}`);
      }
      indexes.push(Object.freeze(index));
    };
    for (const c of columns) {
      if (c.unique && !c.key) addIndex({ name: `unique_${c.name}`, columns: Object.freeze([c.name]), origin: "unique" });
    }
    const primaryStartsWith = (c: string): boolean => keyColumns[0] === c;
    const foreignKeys: ForeignKeyMeta[] = [];
    const outNames = new Set<string>();
    for (const fk of fksOf.get(name)!) {
      if (outNames.has(fk.name)) {
        throw new BadRequestError(`table ${name}: two foreign keys are named ${fk.name}; give one a { name }`);
      }
      outNames.add(fk.name);
      const explicit = explicitInverse.get(`${name}.${fk.column}`);
      const inverse = explicit ?? ((fkCount.get(`${name}->${fk.targetTable}`) ?? 0) > 1 ? `${name}_by_${fk.name}` : name);
      const into = inversesInto.get(fk.targetTable) ?? new Set<string>();
      if (into.has(inverse)) {
        throw new BadRequestError(
          `table ${fk.targetTable}: two foreign keys into it have the inverse name ${inverse}; give one an { inverse }`,
        );
      }
      into.add(inverse);
      inversesInto.set(fk.targetTable, into);
      let index = primaryStartsWith(fk.column) ? "primary" : indexes.find((i) => i.columns[0] === fk.column)?.name;
      if (index === undefined) {
        index = `fk_${fk.column}`;
        addIndex({ name: index, columns: Object.freeze([fk.column]), origin: "foreign_key" });
      }
      foreignKeys.push(Object.freeze({ ...fk, inverse, index }));
    }

    const edges: EdgeMeta[] = t.edges.map((e) => {
      const from = foreignKeys.find((f) => f.column === e.from)!;
      const to = foreignKeys.find((f) => f.column === e.to)!;
      return Object.freeze({
        table: name,
        name: e.name,
        from: e.from,
        to: e.to,
        fromTable: from.targetTable,
        toTable: to.targetTable,
        inverse: e.inverse,
      });
    });

    const fkOf = (c: ColumnMeta): ForeignKeyMeta | undefined => foreignKeys.find((f) => f.column === c.name);
    const keyJson = columns.filter((c) => c.key).map((c) => columnJson(c, fkOf(c), namespace));
    const valueJson = columns.filter((c) => !c.key).map((c) => columnJson(c, fkOf(c), namespace));
    const schemaJson: SchemaJson = deepFreeze([
      [keyJson, valueJson],
      indexes.map((i) => [i.name, [...i.columns]] as const),
    ]) as SchemaJson;

    metas.push(
      Object.freeze({
        name,
        namespace,
        path: `/state/${namespace}/${name}`,
        columns: Object.freeze(columns),
        columnsByName: Object.freeze(columnsByName),
        keyColumns: Object.freeze(keyColumns),
        valueColumns: Object.freeze(valueColumns),
        indexes: Object.freeze(indexes),
        foreignKeys: Object.freeze(foreignKeys),
        edges: Object.freeze(edges),
        schemaJson,
      }),
    );
  }

  // Relation names must be unique per source table (foreign keys, their inverses, edge tables):
  // a clash fails here, at declaration time, naming both relations.
  relationsOf(metas);
  const metaByName = new Map(metas.map((m) => [m.name, m]));
  const validatorCache = new Map<string, RowValidators>();
  const meta = (name: string): TableMeta => {
    const m = typeof name === "string" ? metaByName.get(name) : undefined;
    if (!m) {
      throw new BadRequestError(`unknown table ${showValue(name)} in schema ${namespace}; tables: ${[...metaByName.keys()].join(", ")}`);
    }
    return m;
  };
  return Object.freeze({
    namespace,
    tables: Object.freeze({ ...tables }),
    tableMetas: Object.freeze(metas),
    meta,
    validators(name: string): RowValidators<never, never, never> {
      let v = validatorCache.get(name);
      if (!v) {
        v = rowValidators(meta(name));
        validatorCache.set(name, v);
      }
      return v as RowValidators<never, never, never>;
    },
    json(): Record<string, SchemaJson> {
      const out: Record<string, SchemaJson> = {};
      for (const m of metas) out[m.name] = m.schemaJson;
      return out;
    },
  });
}

function describe(dtype: string, maxLen: number | null): string {
  return maxLen === null ? dtype : `${dtype}(${maxLen})`;
}

function deepFreeze<X>(x: X): X {
  if (Array.isArray(x)) {
    for (const v of x) deepFreeze(v);
    Object.freeze(x);
  } else if (x && typeof x === "object") {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}
