// WebSocket JSON-RPC proxy in front of Chopsticks for the Python SDK (bittensor 10.x), which
// differs from Chopsticks in two places:
// - it sends state_call data without the 0x prefix; Chopsticks rejects that
//   ("hexadecimal string doesn't start with 0x"), so the prefix is added;
// - it requires `account_nextIndex` in rpc_methods; Chopsticks only has the
//   `system_accountNextIndex` alias, so the name is advertised and renamed.
// Everything else passes through unchanged. Needs the `ws` package Chopsticks installs.
//   NODE_PATH=CACHE_DIR/node_modules node rpc-shim.cjs LISTEN_PORT ws://127.0.0.1:CHOPSTICKS_PORT
const WebSocket = require('ws');

const [, , port, upstream] = process.argv;
const server = new WebSocket.Server({ host: '127.0.0.1', port: Number(port) });

server.on('connection', (client) => {
  const up = new WebSocket(upstream);
  const queued = [];
  const rpcMethodsIds = new Set(); // ids of rpc_methods requests, whose answers get amended

  const fix = (m) => {
    if (m.method === 'account_nextIndex') m.method = 'system_accountNextIndex';
    if (m.method === 'state_call' && Array.isArray(m.params) && typeof m.params[1] === 'string' && !m.params[1].startsWith('0x')) {
      m.params[1] = '0x' + m.params[1];
    }
    if (m.method === 'rpc_methods') rpcMethodsIds.add(m.id);
    return m;
  };

  client.on('message', (data) => {
    let msg;
    try { msg = JSON.parse(data.toString()); } catch (e) { return; }
    const text = JSON.stringify(Array.isArray(msg) ? msg.map(fix) : fix(msg));
    if (up.readyState === WebSocket.OPEN) up.send(text); else queued.push(text);
  });
  up.on('open', () => { while (queued.length) up.send(queued.shift()); });
  up.on('message', (data) => {
    let text = data.toString();
    try {
      const r = JSON.parse(text);
      if (r && rpcMethodsIds.has(r.id) && r.result && Array.isArray(r.result.methods)) {
        rpcMethodsIds.delete(r.id);
        if (!r.result.methods.includes('account_nextIndex')) r.result.methods.push('account_nextIndex');
        text = JSON.stringify(r);
      }
    } catch (e) { /* not JSON: pass through */ }
    if (client.readyState === WebSocket.OPEN) client.send(text);
  });
  up.on('close', () => client.close());
  up.on('error', () => client.close());
  client.on('close', () => up.close());
  client.on('error', () => up.close());
});
server.on('listening', () => console.error(`rpc shim on ws://127.0.0.1:${port} -> ${upstream}`));
