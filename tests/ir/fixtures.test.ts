import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IrDecodeError } from "../../src/errors.js";
import { canonicalJson, decode, encode } from "../../src/ir/index.js";

interface Fixtures {
  cases: { name: string; json: unknown }[];
  rejects: { name: string; json: unknown }[];
}

// The shared fixtures sit beside the repository (../shared), in CI as on this machine.
const FIXTURES = new URL("../../../shared/fixtures/ir-roundtrip.json", import.meta.url);
const fixtures = JSON.parse(readFileSync(FIXTURES, "utf8")) as Fixtures;

describe("shared fixtures: ir-roundtrip.json", () => {
  it("has cases and rejects", () => {
    expect(fixtures.cases.length).toBeGreaterThan(0);
    expect(fixtures.rejects.length).toBeGreaterThan(0);
  });

  it.each(fixtures.cases.map((c) => [c.name, c.json] as const))("round-trips %s", (_name, json) => {
    const encoded = encode(decode(json));
    // identical JSON after sorting data-map keys
    expect(canonicalJson(encoded as never)).toBe(canonicalJson(json as never));
    // and the encoder already emits the fixture's own text
    expect(JSON.stringify(encoded)).toBe(JSON.stringify(json));
  });

  it.each(fixtures.rejects.map((c) => [c.name, c.json] as const))("rejects %s", (_name, json) => {
    let caught: unknown;
    try {
      decode(json);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(IrDecodeError);
    expect((caught as IrDecodeError).path.startsWith("$")).toBe(true);
    expect((caught as IrDecodeError).expected.length).toBeGreaterThan(0);
  });
});
