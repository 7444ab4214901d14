/**
 * Parameter binding: every value a user gives directly becomes a generated parameter (`_0`,
 * `_1`, … by its slot in the node), so values never become code. Also the wire form of a value
 * (`toWire`) and the payloads of an insert's slots.
 */
import { BadRequestError, InternalError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import { ref } from "../ir/json.js";
import { toWire } from "./cell-codec.js";
import type { Json } from "../ir/types.js";
import type { CompileOptions, ParamUse } from "./compile-types.js";
import type { ColumnMeta } from "./meta.js";
import type { InsertNode, Operand, QueryNode } from "./nodes.js";
import { showValue } from "../ir/show-value.js";

export { toWire } from "./cell-codec.js";

/**
 * Assigns parameter names. A value operand's name is fixed by its position in the node (its
 * "slot", see `slotOperands`), not by the order the compiler happens to reach it, so a cached
 * compilation can be re-bound to another node of the same shape by walking that node's slots.
 */
export class Binder {
  readonly bound: Record<string, Json> = {};
  readonly userParams = new Map<string, ParamUse>();
  readonly usedSlots = new Set<number>();
  constructor(
    readonly prefix: string,
    private readonly slots: ReadonlyMap<Operand, number>,
  ) {}

  /** Binds slot `i` (insert payloads) to `value`; returns its reference. */
  slot(i: number, value: Json): Json {
    const name = `${this.prefix}${i}`;
    this.bound[name] = value;
    this.usedSlots.add(i);
    return ref(name);
  }

  /** A named parameter's reference (checked and recorded), or a value bound to its slot. */
  operand(o: Operand, column: ColumnMeta | null, shape: ParamUse["shape"]): Json {
    if (o.kind === "param") {
      const problem = idProblem(o.name);
      if (problem) throw new BadRequestError(`invalid parameter name ${showValue(o.name)}: ${problem}`);
      if (o.name.startsWith("_")) {
        throw new BadRequestError(`parameter names starting with "_" are reserved for generated parameters: ${o.name}`);
      }
      const prev = this.userParams.get(o.name);
      if (!prev || (prev.column === null && column !== null)) this.userParams.set(o.name, { column, shape });
      return ref(o.name);
    }
    const i = this.slots.get(o);
    if (i === undefined) throw new InternalError("ORM compiler: a value operand has no parameter slot");
    return this.slot(i, wireValue(o.value, column, shape));
  }

  /** Every free id of the op: generated and named parameters, sorted. */
  params(): string[] {
    return [...Object.keys(this.bound), ...this.userParams.keys()].sort();
  }
}

/**
 * An operand's value as bound: `toWire`, or for `in` the deduplicated list of wire values in the
 * column's order, so that rows read value by value come in the order an index scan gives them.
 */
export function wireValue(value: unknown, column: ColumnMeta | null, shape: ParamUse["shape"]): Json {
  if (shape !== "list") return toWire(column, value);
  return [...new Set(value as unknown[])].map((v) => toWire(column, v)).sort(compareWire);
}

/** A wire cell as the kernel orders it: links by href, strings by code point. */
function orderKey(v: Json): Json {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const k = Object.keys(v);
    if (k.length === 1) return k[0]!;
  }
  return v;
}

function compareWire(x: Json, y: Json): number {
  const a = orderKey(x);
  const b = orderKey(y);
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  if (typeof a === "string" && typeof b === "string") {
    if (a === b) return 0;
    // UTF-16 order differs from code point order only where a surrogate meets U+E000..U+FFFF.
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const ca = a.codePointAt(i)!;
      const cb = b.codePointAt(i)!;
      if (ca !== cb) return ca - cb;
    }
    return a.length - b.length;
  }
  return 0;
}

/** A value operand of a node, with the column it is compared with (if any) and how it is sent. */
export interface SlotOperand {
  readonly operand: Operand;
  readonly column: ColumnMeta | null;
  readonly shape: ParamUse["shape"];
}

/** The value operands of a node in canonical order (index = slot), with how each is sent. */
export function slotOperands(node: QueryNode): SlotOperand[] {
  const out: SlotOperand[] = [];
  if (node.kind === "insert") return out;
  const cols = node.table.columnsByName;
  if (node.kind === "update") for (const [c, o] of node.set) if (o.kind === "value") out.push({ operand: o, column: cols[c]!, shape: "value" });
  for (const p of node.where) {
    if (p.operand?.kind === "value") out.push({ operand: p.operand, column: cols[p.column]!, shape: p.op === "in" ? "list" : "value" });
  }
  if (node.kind === "select") {
    if (node.limit?.kind === "value") out.push({ operand: node.limit, column: null, shape: "amount" });
    if (node.offset?.kind === "value") out.push({ operand: node.offset, column: null, shape: "amount" });
  }
  return out;
}

/**
 * Insert payloads by slot: one row → [key, values] (+ the `{column: value}` map of the columns
 * given, for `"update"`); several → [rows] (or [[key, values(, map)]…]).
 */
export function insertPayloads(node: InsertNode, options: CompileOptions): Json[] {
  const meta = node.table;
  const k = meta.keyColumns.length;
  const wire = node.rows.map((row) => row.map((v, i) => toWire(meta.columns[i]!, v)));
  const given = (r: number): Json => {
    const map: Record<string, Json> = {};
    for (const name of [...node.provided[r]!].sort()) map[name] = wire[r]![meta.columnsByName[name]!.position]!;
    return map;
  };
  if (wire.length === 1) return node.onConflict === "update" ? [wire[0]!.slice(0, k), wire[0]!.slice(k), given(0)] : [wire[0]!.slice(0, k), wire[0]!.slice(k)];
  if (node.onConflict === "error" && !options.coreInsert) return [wire];
  if (node.onConflict === "update") return [wire.map((row, r) => [row.slice(0, k), row.slice(k), given(r)])];
  return [wire.map((row) => [row.slice(0, k), row.slice(k)])];
}

/** The name inside a `{"$name": []}` reference. */
export function refName(r: Json): string {
  return Object.keys(r as Record<string, Json>)[0]!.slice(1);
}
