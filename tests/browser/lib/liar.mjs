// A node that lies to the wallet: an HTTP proxy in front of a real node that serves the wallet
// and the API, altering what `mode` says. WebSocket upgrades (the event stream) pass through.
//
//   honest        nothing altered
//   fake-payment  the account's view gains a confirmed incoming payment that never happened
//   hide-payment  the account's view loses every payment it received
//   bad-filter    every block filter has one byte changed (no longer what its header commits to)
//   bad-pow       the first header of every page carries a nonce its proof of work fails with
//   bad-proof     inclusion proofs claim one more transaction and a sibling hash that is not there

import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

export const FAKE_TXID = 'fa'.repeat(32);
const FAKE_UNITS = 700_000_000; // 7 FRC

const sha256d = (bytes) => crypto.createHash('sha256').update(crypto.createHash('sha256').update(bytes).digest()).digest();

/** A header (128 bytes) with a nonce whose hash is above the dev network's target (first byte >= 0x80). */
function failProofOfWork(header) {
  const out = Buffer.from(header);
  for (let n = 0; ; n++) {
    out.writeUInt32LE(n, 124); // the nonce's last bytes
    if (sha256d(out)[0] >= 0x80) return out;
  }
}

function alter(mode, pathname, body) {
  let view;
  try {
    view = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (pathname.startsWith('/api/addresses/') && mode === 'fake-payment') {
    view.history.unshift({ txid: FAKE_TXID, height: 1, time: view.history[0]?.time ?? 0, received: FAKE_UNITS, sent: 0 });
    view.balance += FAKE_UNITS;
    view.pending += FAKE_UNITS;
  } else if (pathname.startsWith('/api/addresses/') && mode === 'hide-payment') {
    view.history = view.history.filter((e) => !(e.received > 0));
    view.balance = 0;
    view.pending = 0;
    view.utxos = [];
  } else if (pathname === '/api/filters' && mode === 'bad-filter') {
    for (const f of view) f.filter = f.filter.slice(0, -1) + (f.filter.endsWith('0') ? '1' : '0');
  } else if (pathname === '/api/headers' && mode === 'bad-pow' && view.count > 0) {
    const bytes = Buffer.from(view.headers, 'hex');
    failProofOfWork(bytes.subarray(0, 128)).copy(bytes, 0);
    view.headers = bytes.toString('hex');
  } else if (pathname.endsWith('/proof') && mode === 'bad-proof') {
    view.count += 1;
    view.branch.push('ab'.repeat(32));
  } else {
    return body;
  }
  return Buffer.from(JSON.stringify(view));
}

export class LyingProxy {
  constructor(upstream, port) {
    this.upstream = upstream; // { host, port }
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.mode = 'honest';
    this.served = []; // paths answered while lying
  }

  async start() {
    this.server = http.createServer(async (req, res) => {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      try {
        const headers = {};
        if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
        const up = await fetch(`http://${this.upstream.host}:${this.upstream.port}${req.url}`, {
          method: req.method,
          headers,
          body: chunks.length ? Buffer.concat(chunks) : undefined,
        });
        let body = Buffer.from(await up.arrayBuffer());
        const pathname = new URL(req.url, this.url).pathname;
        if (up.ok && this.mode !== 'honest') {
          const altered = alter(this.mode, pathname, body);
          if (altered !== body) this.served.push(`${this.mode} ${pathname}`);
          body = altered;
        }
        const type = up.headers.get('content-type');
        res.writeHead(up.status, type ? { 'content-type': type } : {});
        res.end(body);
      } catch (e) {
        res.writeHead(502);
        res.end(String(e));
      }
    });
    this.server.on('upgrade', (req, socket, head) => {
      const up = net.connect(this.upstream.port, this.upstream.host, () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        up.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) up.write(head);
        socket.pipe(up).pipe(socket);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    await new Promise((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
