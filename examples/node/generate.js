#!/usr/bin/env node
// Draw gene-expression profiles from a gexgen generator file with onnxruntime-node.
//
//   node generate.js GENERATOR.onnx Z.f32 OUT.f32 tissue=kidney status=tumor
//
// Z.f32 holds the latent noise: n x n_latent float32 values, little-endian,
// row-major (standard normal; gexgen's seeded stream is Python-only, see the
// README). OUT.f32 receives the `expression` output, n x n_genes float32.
// A JSON summary (genes, labels, codes, shape) goes to stdout.
//
// The metadata (genes, label vocabularies, n_latent, noise input) comes from
// GENERATOR.onnx.json, written beside the model by `gexgen export` (or by
// `gexgen info GENERATOR.onnx --json > GENERATOR.onnx.json`). onnxruntime-node
// has no API for custom model metadata; without the sidecar this program
// reads the same JSON from the model file itself (metadata_props["gexgen"]).
"use strict";

const fs = require("fs");
const ort = require("onnxruntime-node");

// ---- the metadata ---------------------------------------------------------

// Minimal protobuf reading: ModelProto field 14 is metadata_props, a repeated
// StringStringEntryProto {key = 1, value = 2}.
function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, pos];
    shift += 7n;
  }
}

function fields(buf, start, end, visit) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      let length;
      [length, pos] = readVarint(buf, pos);
      visit(field, pos, pos + Number(length));
      pos += Number(length);
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

function embeddedMetadata(modelPath, wantedKey) {
  const buf = fs.readFileSync(modelPath);
  let found = null;
  fields(buf, 0, buf.length, (field, start, end) => {
    if (field !== 14) return;
    let key = null;
    let value = null;
    fields(buf, start, end, (f, s, e) => {
      if (f === 1) key = buf.toString("utf8", s, e);
      if (f === 2) value = buf.toString("utf8", s, e);
    });
    if (key === wantedKey) found = value;
  });
  if (found === null) throw new Error(`${modelPath} has no "${wantedKey}" metadata`);
  return found;
}

function readMetadata(modelPath) {
  const sidecar = `${modelPath}.json`;
  if (fs.existsSync(sidecar)) {
    return { meta: JSON.parse(fs.readFileSync(sidecar, "utf8")), source: "sidecar" };
  }
  return { meta: JSON.parse(embeddedMetadata(modelPath, "gexgen")), source: "embedded" };
}

// ---- drawing profiles ------------------------------------------------------

async function main(argv) {
  if (argv.length < 3) {
    console.error("usage: node generate.js GENERATOR.onnx Z.f32 OUT.f32 [label=value ...]");
    process.exit(2);
  }
  const [modelPath, zPath, outPath, ...pairs] = argv;
  const { meta, source } = readMetadata(modelPath);
  const wanted = Object.fromEntries(pairs.map((pair) => pair.split("=", 2)));

  const zBytes = fs.readFileSync(zPath);
  const z = new Float32Array(zBytes.buffer, zBytes.byteOffset, zBytes.byteLength / 4);
  const nLatent = meta.n_latent;
  const nGenes = meta.genes.symbols.length;
  if (z.length % nLatent !== 0) throw new Error(`z has ${z.length} values, not n x ${nLatent}`);
  const n = z.length / nLatent;

  const feeds = { z: new ort.Tensor("float32", z, [n, nLatent]) };
  const codes = {};
  for (const label of meta.labels) {
    // one int64 input per label: the index of the value in the label's vocabulary
    const value = wanted[label.name];
    const code = label.values.indexOf(value);
    if (code < 0) {
      throw new Error(`${label.name}=${value} unknown; valid values: ${label.values.join(", ")}`);
    }
    codes[label.name] = code;
    feeds[label.input] = new ort.Tensor("int64", new BigInt64Array(n).fill(BigInt(code)), [n]);
  }
  if (meta.noise_input) {
    // learned decoder variance: zeros give the decoder mean
    feeds.eps = new ort.Tensor("float32", new Float32Array(n * nGenes), [n, nGenes]);
  }

  const session = await ort.InferenceSession.create(modelPath);
  const result = await session.run(feeds, ["expression"]);
  const expression = result.expression.data;
  fs.writeFileSync(outPath, Buffer.from(expression.buffer, expression.byteOffset, expression.byteLength));
  console.log(
    JSON.stringify({
      metadata: source,
      n,
      n_genes: nGenes,
      genes: meta.genes.symbols.slice(0, 3),
      units: meta.units ?? null,
      codes,
      shape: result.expression.dims,
    }),
  );
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`Error: ${error.message}`);
  process.exit(1);
});
