import { readFile, stat } from 'node:fs/promises';

/** Input and output names of an ONNX graph, in graph order. */
export interface GraphSignature {
  inputs: string[];
  outputs: string[];
}

// Protobuf field numbers: ModelProto.graph = 7; GraphProto.initializer = 5, input = 11, output = 12;
// ValueInfoProto.name = 1.
const modelGraphField = 7;
const graphInputField = 11;
const graphOutputField = 12;
const valueInfoNameField = 1;
const largestGraphFile = 1.5 * 1024 ** 3;

/**
 * Reads only the graph's input and output names, walking the protobuf fields and skipping everything else
 * (initializers hold the weights), so a large graph is not decoded into objects. Graphs whose weights live in
 * external-data files are small; one over 1.5 GB cannot be read this way.
 */
export async function readGraphSignature(path: string): Promise<GraphSignature> {
  const { size } = await stat(path);
  if (size > largestGraphFile) {
    throw new Error(
      `${path} is ${size} bytes, too large to read its signature; describe it in rag-model.json`,
    );
  }
  const bytes = await readFile(path);
  const graph = fields(bytes, 0, bytes.length).find((field) => field.number === modelGraphField);
  if (graph === undefined) throw new Error(`${path} is not an ONNX model (no graph)`);
  const signature: GraphSignature = { inputs: [], outputs: [] };
  for (const field of fields(bytes, graph.start, graph.end)) {
    if (field.number !== graphInputField && field.number !== graphOutputField) continue;
    const name = fields(bytes, field.start, field.end).find((inner) => inner.number === valueInfoNameField);
    const text = name === undefined ? '' : bytes.toString('utf8', name.start, name.end);
    (field.number === graphInputField ? signature.inputs : signature.outputs).push(text);
  }
  return signature;
}

interface LengthDelimitedField {
  number: number;
  start: number;
  end: number;
}

/** The length-delimited fields between start and end; other wire types are skipped. */
function fields(bytes: Buffer, start: number, end: number): LengthDelimitedField[] {
  const found: LengthDelimitedField[] = [];
  let offset = start;
  const varint = () => {
    let value = 0;
    let scale = 1;
    while (true) {
      if (offset >= end) throw new Error('truncated protobuf');
      const byte = bytes[offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (offset < end) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) varint();
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else if (wireType === 2) {
      const length = varint();
      found.push({ number, start: offset, end: offset + length });
      offset += length;
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
  if (offset !== end) throw new Error('truncated protobuf');
  return found;
}
