#!/usr/bin/env node
// Draw gene-expression profiles from a gexgen generator file with onnxruntime-node.
//
//   node generate.js GENERATOR.onnx OUT.f32 --n 1000 --seed 0 tissue=kidney status=tumor
//   node generate.js GENERATOR.onnx OUT.f32 --n 1000 --mean tissue=kidney status=tumor
//   node generate.js GENERATOR.onnx OUT.f32 --z Z.f32 [--eps EPS.f32] tissue=kidney ...
//
// The graph's inputs are what makes the profiles samples: the latent noise z
// (n x n_latent) and, for generators with calibrated observation noise, eps
// (n x n_genes), both standard normal. This program draws them from a seeded
// normal sampler (mulberry32 + Box-Muller, below): the same --seed gives the
// same profiles, with the spread of `gexgen generate` (not its exact numbers:
// gexgen's seeded streams are numpy / Philox, see docs/generator-format.md).
// --mean sets eps to zero (the decoder mean, like `gexgen generate --mean`:
// about half the real spread); --z / --eps read given inputs instead
// (little-endian float32, row-major). OUT.f32 receives the `expression`
// output (or, with --space log2, `log_expression`), n x n_genes float32. A JSON summary (genes, labels, codes, shape)
// goes to stdout.
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

// ---- a seeded standard normal sampler ---------------------------------------

// mulberry32: a small 32-bit generator (uniform integers), seeded by one integer.
function mulberry32(seed) {
  let state = seed >>> 0;
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// Box-Muller: two uniforms in (0, 1) give two independent N(0, 1) values.
function normalSampler(seed) {
  const next = mulberry32(seed);
  const uniform = () => (next() + 0.5) / 4294967296; // never 0 or 1
  return function fill(array) {
    for (let i = 0; i < array.length; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(uniform()));
      const angle = 2 * Math.PI * uniform();
      array[i] = radius * Math.cos(angle);
      if (i + 1 < array.length) array[i + 1] = radius * Math.sin(angle);
    }
    return array;
  };
}

function readFloat32(path, width, name) {
  const bytes = fs.readFileSync(path);
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  if (copy.length % width !== 0) {
    throw new Error(`${name} has ${copy.length} values, not n x ${width}`);
  }
  return copy;
}

function parseArgs(argv) {
  const usage =
    "usage: node generate.js GENERATOR.onnx OUT.f32 (--n N [--seed S] | --z Z.f32 [--eps EPS.f32]) " +
    "[--mean] [--space expression|log2] [label=value ...]";
  if (argv.length < 2) throw new Error(usage);
  const [modelPath, outPath, ...rest] = argv;
  const args = {
    modelPath, outPath, n: null, seed: 0, z: null, eps: null, mean: false, space: "expression", wanted: {},
  };
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i];
    if (word === "--mean") args.mean = true;
    else if (["--n", "--seed", "--z", "--eps", "--space"].includes(word)) {
      if (i + 1 >= rest.length) throw new Error(`${word} needs a value; ${usage}`);
      args[word.slice(2)] = rest[++i];
    } else if (word.includes("=")) {
      const [name, value] = word.split("=", 2);
      args.wanted[name] = value;
    } else throw new Error(`unexpected argument ${JSON.stringify(word)}; ${usage}`);
  }
  for (const name of ["n", "seed"]) {
    if (args[name] !== null && !/^\d+$/.test(String(args[name]))) {
      throw new Error(`--${name} must be a whole number >= 0, got ${args[name]}`);
    }
  }
  args.seed = Number(args.seed);
  if (!["expression", "log2"].includes(args.space)) {
    throw new Error(`--space must be expression or log2, got ${args.space}`);
  }
  if ((args.n === null) === (args.z === null)) throw new Error(`give --n or --z (one of them); ${usage}`);
  if (args.eps !== null && args.mean) throw new Error("--eps and --mean exclude each other");
  return args;
}

// ---- drawing profiles ------------------------------------------------------

async function main(argv) {
  const args = parseArgs(argv);
  const { modelPath, outPath, wanted } = args;
  const { meta, source } = readMetadata(modelPath);
  const nLatent = meta.n_latent;
  const nGenes = meta.genes.symbols.length;
  const fill = normalSampler(args.seed);

  const z = args.z !== null ? readFloat32(args.z, nLatent, "z") : null;
  const n = z !== null ? z.length / nLatent : Number(args.n);
  // z first, then eps, from one seeded stream
  const feeds = { z: new ort.Tensor("float32", z ?? fill(new Float32Array(n * nLatent)), [n, nLatent]) };
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
  let noise = null;
  if (meta.noise_input) {
    // calibrated observation noise: N(0, 1) draws make samples; zeros (--mean) the decoder mean
    let eps;
    if (args.eps !== null) {
      eps = readFloat32(args.eps, nGenes, "eps");
      if (eps.length !== n * nGenes) throw new Error(`eps has ${eps.length} values, not ${n} x ${nGenes}`);
      noise = "given";
    } else if (args.mean) {
      eps = new Float32Array(n * nGenes);
      noise = "mean";
    } else {
      eps = fill(new Float32Array(n * nGenes));
      noise = "drawn";
    }
    feeds.eps = new ort.Tensor("float32", eps, [n, nGenes]);
  }

  const session = await ort.InferenceSession.create(modelPath);
  const output = args.space === "log2" ? "log_expression" : "expression";
  const result = await session.run(feeds, [output]);
  const expression = result[output].data;
  fs.writeFileSync(outPath, Buffer.from(expression.buffer, expression.byteOffset, expression.byteLength));
  console.log(
    JSON.stringify({
      metadata: source,
      n,
      n_genes: nGenes,
      genes: meta.genes.symbols.slice(0, 3),
      units: meta.units ?? null,
      codes,
      seed: args.seed,
      z: z !== null ? "given" : "drawn",
      eps: noise,
      space: args.space,
      shape: result[output].dims,
    }),
  );
}

module.exports = { mulberry32, normalSampler };

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`Error: ${error.message}`);
    process.exit(1);
  });
}
