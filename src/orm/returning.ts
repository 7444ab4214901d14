/**
 * `returning([...])` / `returningAll()` on insert, update and delete: the write runs as one
 * request of the kernel's `returning` extension (`insert_returning`, `update_returning`,
 * `delete_returning`; contract in src/ir/query-plan.ts) that answers the rows as written —
 * inserted rows as the table holds them after the write (in the order given, rows skipped by
 * `onConflict("ignore")` left out), updated rows after the update, deleted rows as they were,
 * both in key order.
 */
import { BadRequestError } from "../errors.js";
import { after, cond, forEach, get, opdef, post, ref, type JsonSteps } from "../ir/json.js";
import { UNIQUE_MARKER } from "./write-compiler.js";
import { RETURNING_ALIAS, RETURNING_EXTENSION, type DeleteReturningPlan, type InsertReturningPlan, type UpdateReturningPlan } from "../ir/query-plan.js";
import type { Json } from "../ir/types.js";
import type { CompiledBody } from "./compile-types.js";
import type { ColumnMeta, TableMeta } from "./meta.js";
import type { DeleteNode, InsertNode, Predicate, UpdateNode } from "./nodes.js";
import { refName, toWire, type Binder } from "./param-binder.js";
import { explainPlan, planRead } from "./planner.js";
import { PlanParams, toExpr } from "./query-compiler.js";
import type { OExpr, ReturningNode } from "./query-node.js";
import { cellDecoders } from "./cell-codec.js";
import { rowDecoder } from "./row-factory.js";
import { showValue } from "../ir/show-value.js";

/** Checks `returning()`'s columns (`null`: every column). */
export function returningColumns(meta: TableMeta, columns: unknown): readonly string[] | null {
  const label = `${meta.namespace}/${meta.name}`;
  if (columns === null) return null;
  if (!Array.isArray(columns) || columns.length === 0) throw new BadRequestError(`${label}: returning() takes a non-empty array of columns`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (typeof c !== "string" || !meta.columnsByName[c]) throw new BadRequestError(`${label}: unknown column ${showValue(c)} in returning()`);
    if (seen.has(c)) throw new BadRequestError(`${label}: column ${c} is returned twice`);
    seen.add(c);
  }
  return [...(columns as string[])];
}

function whereExpr(meta: TableMeta, preds: readonly Predicate[]): OExpr | null {
  const col = (name: string): OExpr => ({ t: "col", src: RETURNING_ALIAS, col: name, meta: meta.columnsByName[name]! });
  const conj: OExpr[] = preds.map((p) => {
    const c = col(p.column);
    const column = meta.columnsByName[p.column]!;
    if (p.op === "isNull") return { t: "isNull", e: c };
    if (p.op === "isNotNull") return { t: "not", e: { t: "isNull", e: c } };
    if (p.op === "in") return { t: "in", e: c, list: { t: "value", operand: p.operand!, column, shape: "list" }, negate: false };
    return { t: "cmp", op: p.op, l: c, r: { t: "value", operand: p.operand!, column, shape: "value" } };
  });
  return conj.length === 0 ? null : conj.length === 1 ? conj[0]! : { t: "and", of: conj };
}

/**
 * A write with `returning` → one POST of its `returning` route, decoding the rows it answers.
 *
 * @example
 * ```ts
 * const { op, decode } = compileReturning(node, new Binder("_", new Map()));
 * ```
 */
export function compileReturning(node: ReturningNode, b: Binder): CompiledBody & { readonly needs: readonly string[] } {
  const w = node.write;
  const meta = w.table;
  const p = new PlanParams(b);
  let route: string;
  let plan: InsertReturningPlan | UpdateReturningPlan | DeleteReturningPlan;
  if (w.kind === "insert") {
    route = "insert_returning";
    plan = insertPlan(w, node.columns, b, p);
  } else {
    route = `${w.kind}_returning`;
    const where = whereExpr(meta, w.where);
    const whereJson = where ? toExpr(where, p) : null;
    if (w.kind === "update") {
      const set = (w as UpdateNode).set.map(([c, o]) => [c, toExpr({ t: "value", operand: o, column: meta.columnsByName[c]!, shape: "value" }, p)] as const);
      plan = { where: whereJson, set, columns: node.columns };
    } else {
      plan = { where: whereJson, columns: node.columns } satisfies DeleteReturningPlan;
    }
  }
  const unique = w.kind === "delete" ? NONE : uniqueColumns(meta);
  const text = JSON.stringify(checked(plan, unique.length > 0));
  // The op and decoder are functions of the plan text (values are parameters, and the parameter
  // map's names are the text's; the route's plans differ in their fields): one per text, so every
  // statement of a shape sends the same op object and the kernel's op cache hits by identity.
  let byText = SHAPES.get(meta);
  if (byText === undefined) SHAPES.set(meta, (byText = new Map()));
  // With unique checks the text asks for whole rows, and the columns returned are projected here.
  const names = unique.length === 0 ? undefined : (node.columns ?? meta.columns.map((c) => c.name));
  const cacheKey = names === undefined ? text : `${text}\n${names.join(",")}`;
  let shape = byText.get(cacheKey);
  if (shape === undefined) {
    const write = post(`${meta.path}/${route}`, { plan: text, params: p.map });
    const op = opdef(unique.length === 0 ? [["_r", write]] : uniqueChecked(meta, unique, write));
    const returned = names ?? node.columns ?? meta.columns.map((c) => c.name);
    // With unique checks the route answers whole rows (the checks read them); decode projects.
    const positions = names === undefined ? undefined : names.map((n) => meta.columnsByName[n]!.position);
    const decodeRow = rowDecoder(returned, cellDecoders(meta, returned), positions);
    shape = { op, decode: (r: Json) => (r as Json[]).map((row) => decodeRow(row as Json[])) };
    if (byText.size >= MAX_SHAPES_PER_TABLE) byText.clear();
    byText.set(cacheKey, shape);
  }
  return new ReturningCompiled(shape, w);
}

/** A compiled `returning` statement; its explanation (the read of an update or delete) is made when asked. */
class ReturningCompiled {
  readonly op: CompiledBody["op"];
  readonly decode: CompiledBody["decode"];
  readonly needs = NEEDS;
  #explained: ReturnType<typeof explainPlan> | null | undefined;

  constructor(
    shape: Shape,
    private readonly write: ReturningNode["write"],
  ) {
    this.op = shape.op;
    this.decode = shape.decode;
  }

  get explain(): ReturnType<typeof explainPlan> | null {
    const w = this.write;
    if (this.#explained === undefined) this.#explained = w.kind === "insert" ? null : explainPlan(w.table, planRead(w.table, w.where, null, { lookups: false }));
    return this.#explained;
  }
}

const NONE: readonly ColumnMeta[] = [];
const NEEDS: readonly string[] = [RETURNING_EXTENSION];
type Shape = { readonly op: CompiledBody["op"]; readonly decode: CompiledBody["decode"] };
/** The op and decoder of each plan text, per table (a full table's shapes are dropped at once). */
const SHAPES = new WeakMap<TableMeta, Map<string, Shape>>();
/** The `.unique()` value columns of each table (checked after an insert or update). */
const UNIQUE = new WeakMap<TableMeta, readonly ColumnMeta[]>();

function uniqueColumns(meta: TableMeta): readonly ColumnMeta[] {
  let cols = UNIQUE.get(meta);
  if (cols === undefined) UNIQUE.set(meta, (cols = meta.columns.filter((c) => c.unique && !c.key)));
  return cols;
}
const MAX_SHAPES_PER_TABLE = 512;

/** The plan answering whole rows when the unique checks need them. */
function checked<P extends { readonly columns: readonly string[] | null }>(plan: P, whole: boolean): P {
  return whole ? { ...plan, columns: null } : plan;
}

/**
 * The write, then, for each written row and each `.unique()` column, a count of the rows holding
 * its value (a null never violates): more than one fails the op — and the transaction, so nothing
 * is written — with the marker `uniqueViolation` turns into a `ConflictError`.
 */
function uniqueChecked(meta: TableMeta, unique: readonly ColumnMeta[], write: Json): JsonSteps {
  const perRow: JsonSteps = [];
  unique.forEach((c, i) => {
    const v = `_v${i}`;
    perRow.push([v, post("$_row/get", { i: c.position })]);
    const body = opdef([
      ["_n", get(`${meta.path}/count`, [[c.name, ref(v)]])],
      ["_ok", post("$_n/le", { r: 1 })],
      ["_r", cond(ref("_ok"), null, post("$_nomap/get", { i: `${UNIQUE_MARKER}${c.name}` }))],
    ]);
    if (c.nullable) {
      perRow.push([`_null${i}`, post(`$${v}/eq`, { r: null })]);
      perRow.push([`_u${i}`, cond(ref(`_null${i}`), null, body)]);
    } else {
      perRow.push([`_u${i}`, cond(ref("_true"), body, null)]);
    }
  });
  perRow.push(["_r", unique.map((_, i) => ref(`_u${i}`))]);
  return [
    ["_true", true],
    ["_nomap", { none: null }],
    ["_w", write],
    ["_chk", after(ref("_w"), forEach(ref("_w"), opdef(perRow), "_row"))],
    ["_r", after(ref("_chk"), ref("_w"))],
  ];
}

/**
 * An insert's plan: its rows go as ONE parameter holding the tuple of row tuples (wire cells), so
 * the plan text — and the op — is the same for every insert of a shape, whatever its rows.
 */
function insertPlan(w: InsertNode, columns: readonly string[] | null, b: Binder, p: PlanParams): InsertReturningPlan {
  const meta = w.table;
  const r = b.slot(0, w.rows.map((row) => row.map((v, i) => toWire(meta.columns[i]!, v))));
  const name = refName(r);
  p.map[name] = r;
  return { rows: { param: name }, columns, onConflict: w.onConflict, update: w.onConflict === "update" ? w.provided.map((c) => [...c]) : null };
}

export type { DeleteNode, UpdateNode };
