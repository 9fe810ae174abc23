// Turns a plain chain spec (genesis.runtimeGenesis {code, patch}) into the raw spec that
// Chopsticks' genesis mode needs, by running the runtime's own GenesisBuilder API
// (get_preset + build_state) inside Chopsticks' wasm executor.
//   node build-raw.cjs PLAIN.json RAW.json
const fs = require('fs');
const core = require('@acala-network/chopsticks-core');

const [, , inPath, outPath] = process.argv;
const spec = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const { code, patch = {} } = spec.genesis.runtimeGenesis;

// Genesis Timestamp.Now. Without it Chopsticks reads the wall clock twice while building block #1
// (once for the Aura slot in the digest, once for the timestamp inherent); when a second boundary
// falls in between, pallet_aura panics "Timestamp slot must match CurrentSlot". A fixed value also
// keeps the genesis hash reproducible. 2025-07-22T00:00:00Z, the date of this runtime.
const TIMESTAMP_NOW_KEY = '0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb';
const GENESIS_MS = 1753142400000n;

const compact = (n) => {
  if (n < 64) return Buffer.from([n << 2]);
  if (n < 16384) { const b = Buffer.alloc(2); b.writeUInt16LE((n << 2) | 1); return b; }
  const b = Buffer.alloc(4); b.writeUInt32LE(((n << 2) | 2) >>> 0); return b;
};
const decodeCompact = (buf, i) => {
  const m = buf[i] & 3;
  if (m === 0) return [buf[i] >> 2, i + 1];
  if (m === 1) return [buf.readUInt16LE(i) >> 2, i + 2];
  return [buf.readUInt32LE(i) >>> 2, i + 4];
};
const encBytes = (b) => '0x' + Buffer.concat([compact(b.length), b]).toString('hex');
// JSON merge of the spec's patch over the runtime's default config (objects merge, rest replaces).
const merge = (base, p) => {
  if (!p || typeof p !== 'object' || Array.isArray(p) || !base || typeof base !== 'object' || Array.isArray(base)) return p;
  const out = { ...base };
  for (const [k, v] of Object.entries(p)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
};

// No storage behind the calls: GenesisBuilder works on an empty state.
const none = async () => undefined;
const handler = {
  getStorage: none, getNextKey: none, offchainGetStorage: none,
  offchainTimestamp: async () => Date.now(),
  offchainRandomSeed: async () => '0x' + '00'.repeat(32),
  offchainSubmitTransaction: async () => false,
};
// allowUnresolvedImports: the runtime imports host functions (bls12_381) Chopsticks lacks.
const call = async (method, args) => {
  const r = await core.runTask({ wasm: code, calls: [[method, args]], mockSignatureHost: false, allowUnresolvedImports: true, runtimeLogLevel: 1 }, handler);
  if (r.Error) throw new Error(`${method}: ${r.Error}`);
  return r.Call;
};

(async () => {
  const t0 = Date.now();
  // get_preset(None) -> Option<Vec<u8>> holding the default config JSON.
  const preset = Buffer.from((await call('GenesisBuilder_get_preset', ['0x00'])).result.slice(2), 'hex');
  if (preset[0] !== 1) throw new Error('runtime has no default genesis preset');
  const [len, i] = decodeCompact(preset, 1);
  const config = merge(JSON.parse(preset.subarray(i, i + len).toString()), patch);
  // build_state(json) -> Result<(), String>; the state it wrote is the storage diff.
  const r = await call('GenesisBuilder_build_state', [encBytes(Buffer.from(JSON.stringify(config)))]);
  if (r.result !== '0x00') throw new Error(`build_state failed: ${Buffer.from(r.result.slice(2), 'hex').toString()}`);
  const top = {};
  for (const [k, v] of r.storageDiff) if (v !== null) top[k] = v;
  const now = Buffer.alloc(8); now.writeBigUInt64LE(GENESIS_MS);
  top[TIMESTAMP_NOW_KEY] = '0x' + now.toString('hex');
  top['0x3a636f6465'] = code; // :code
  fs.writeFileSync(outPath, JSON.stringify({ ...spec, genesis: { raw: { top, childrenDefault: {} } } }));
  console.log(`raw genesis: ${Object.keys(top).length} keys -> ${outPath} in ${Date.now() - t0} ms`);
  process.exit(0); // the executor's worker would keep the process alive
})().catch((e) => { console.error(e); process.exit(1); });
