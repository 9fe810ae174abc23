// Starts the Chopsticks CLI in this process after telling it the runtime's real Aura slot duration.
// Chopsticks asks the runtime (AuraApi_slot_duration) with unresolved host imports disallowed; this
// runtime imports bls12_381 host functions Chopsticks lacks, so the call fails and Chopsticks
// silently assumes 12 s, while the runtime uses 1 s: every block then fails in pallet_aura.
//   node launch.cjs RAW_SPEC.json [chopsticks options...]
const fs = require('fs');
const path = require('path');
const core = require('@acala-network/chopsticks-core');

const specPath = process.argv[2];
const wasm = JSON.parse(fs.readFileSync(specPath, 'utf8')).genesis.raw.top['0x3a636f6465'];
const none = async () => undefined;
const handler = {
  getStorage: none, getNextKey: none, offchainGetStorage: none,
  offchainTimestamp: async () => Date.now(),
  offchainRandomSeed: async () => '0x' + '00'.repeat(32),
  offchainSubmitTransaction: async () => false,
};

(async () => {
  const r = await core.runTask({ wasm, calls: [['AuraApi_slot_duration', []]], mockSignatureHost: false, allowUnresolvedImports: true, runtimeLogLevel: 0 }, handler);
  if (r.Error) throw new Error(`AuraApi_slot_duration: ${r.Error}`);
  const ms = Number(Buffer.from(r.Call.result.slice(2), 'hex').readBigUInt64LE(0));
  // getAuraSlotDuration is memoized by wasm: seed its cache with the right answer.
  core.getAuraSlotDuration.cache.set(wasm, Promise.resolve(ms));
  console.error(`aura slot duration ${ms} ms`);
  process.argv.splice(2, 1, '--genesis', specPath);
  const cli = path.resolve(path.dirname(require.resolve('@acala-network/chopsticks-core')), '../../../chopsticks/dist/cjs/cli.js');
  require(cli);
})().catch((e) => { console.error(e); process.exit(1); });
