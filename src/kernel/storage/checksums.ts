/**
 * Checksums of the durable store: a 32-bit checksum over a stored row's key and value cells (kept
 * as the last cell of the stored value, checked when the row is loaded), and CRC-32 of a whole
 * file (the lmdb data file's clean-close checksum, checked before lmdb maps the file).
 */
import { closeSync, openSync, readSync } from "node:fs";
import * as zlib from "node:zlib";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;

function mix(h: number, word: number): number {
  return Math.imul(h ^ word, FNV_PRIME);
}

function mixCell(h: number, c: unknown): number {
  switch (typeof c) {
    case "number":
      // -0 and 0 are one key; hash them alike so a store that normalizes either way still checks.
      f64[0] = c === 0 ? 0 : c;
      return mix(mix(mix(h, 3), u32[0]!), u32[1]!);
    case "string": {
      h = mix(mix(h, 4), c.length);
      for (let i = 0; i < c.length; i++) h = mix(h, c.charCodeAt(i));
      return h;
    }
    case "boolean":
      return mix(h, c ? 2 : 1);
    case "bigint": {
      // lmdb's key encoding reads back a bigint that a double holds exactly as a number: hash
      // such a bigint as that number, so the stored and the read key check alike.
      const n = Number(c);
      if (BigInt(n) === c) return mixCell(h, n);
      return mixCell(mix(h, 6), c.toString());
    }
    default:
      return mix(h, c === null || c === undefined ? 0 : 5);
  }
}

/**
 * The checksum of a stored row: its stored key cells, then its first `n` value cells (FNV-1a
 * over each cell's type and content; -0 hashes as 0).
 *
 * @example
 * ```ts
 * const sum = rowChecksum([1, "k"], ["v", 2], 2);
 * rowChecksum([1, "k"], ["v", 3], 2) !== sum; // true
 * ```
 */
export function rowChecksum(key: readonly unknown[], values: readonly unknown[], n: number): number {
  let h = mix(FNV_OFFSET, key.length);
  for (let i = 0; i < key.length; i++) h = mixCell(h, key[i]);
  h = mix(h, n);
  for (let i = 0; i < n; i++) h = mixCell(h, values[i]);
  return h >>> 0;
}

/**
 * The checksum of a table's stored catalog entry (its path and schema JSON, and its fill cells
 * when it has some: an entry without them sums as before).
 *
 * @example
 * ```ts
 * tableChecksum("/state/app/t", schemaJson); // a uint32
 * ```
 */
export function tableChecksum(path: string, schema: unknown, fill?: unknown): number {
  if (fill === undefined) return rowChecksum([path], [JSON.stringify(schema) ?? ""], 1);
  const text = JSON.stringify(fill, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
  return rowChecksum([path], [JSON.stringify(schema) ?? "", text], 2);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), continuing from `crc`; zlib's when this Node has it. */
function crc32(buf: Uint8Array, crc: number): number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (native) return native(buf, crc);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of a buffer. */
export function crc32Of(buf: Uint8Array): number {
  return crc32(buf, 0) >>> 0;
}

/**
 * Size and CRC-32 of a whole file, read in 4 MiB chunks with plain reads (never mapped).
 *
 * @example
 * ```ts
 * const { size, crc } = fileChecksum("/data/state/data.mdb");
 * ```
 */
export function fileChecksum(path: string): { size: number; crc: number } {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    let size = 0;
    let crc = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, size);
      if (n === 0) break;
      crc = crc32(n === buf.length ? buf : buf.subarray(0, n), crc);
      size += n;
    }
    return { size, crc: crc >>> 0 };
  } finally {
    closeSync(fd);
  }
}
