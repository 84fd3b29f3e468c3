// What a new user meets in the wallet's first minutes, in real Chromium against real nodes:
//
// 1. Another node: a wallet served by node 1 uses node 2 (CORS); a server that answers without
//    allowing other origins reads "refused by the browser", a closed port reads "cannot be
//    reached".
// 2. Leaving the backup words asks first.
// 3. Sending: Enter leads to a review, not to a payment; a fee larger than the amount is
//    warned about; paying one's own address is noticed; "Send all" sends everything less the
//    fee; "1 confirmation", not "1 confirmations".
// 4. The node stops with the wallet open: the last known balance shows as such, with its time,
//    one message for one cause; the node comes back and every page recovers on its own.
// 5. Explorer pages for a block, transaction or address that does not exist or is mistyped.
// 6. Phone size (390 × 844): no page is wider than the screen; unlocking from the send page
//    stays there.
// 7. A node that halves the coin values it reports: the payment the wallet signs is refused by
//    the real node behind it (signatures commit to the coins spent), the wallet says why, and no
//    coin moves. (Runs before 6, on the desktop page.)
//
// Screenshots of every step go to target/browser/first-minutes/, the nodes' logs to
// target/browser/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.mjs';
import { freePort } from './lib/net.mjs';
import {
  APPEAR, CHAIN, CRYPTO, DIST, Node, OUT, checkBackup, clean, click, docVectors, ferroBinary, fill,
  mine, showsAmount, text, textMatching, tid, unlockIfAsked, visible, waitFor,
} from './lib/harness.mjs';

const SHOTS = path.join(OUT, 'first-minutes');
const PASSWORD = 'first minutes password';
const PHONE = { width: 390, height: 844 };
// How long a page may take to recover once its node answers again (it retries every 2 s).
const RECOVER = 10_000;

fs.rmSync(SHOTS, { recursive: true, force: true });
fs.mkdirSync(SHOTS, { recursive: true });

/** A server that answers every request with 200 and no CORS headers: not a node's API. */
async function foreignServer() {
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"hello":"not a node"}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * A node that lies: forwards every request to `upstream`, but halves the coin values in its
 * answers about addresses. A wallet that believed them would leave the other half of every coin
 * it spends as a fee it never showed.
 */
async function lyingNode(upstream) {
  const server = http.createServer(async (request, response) => {
    try {
      const chunks = [];
      for await (const chunk of request) chunks.push(chunk);
      const headers = { ...request.headers };
      delete headers.host;
      delete headers['accept-encoding'];
      const answer = await fetch(`${upstream}${request.url}`, {
        method: request.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      let body = Buffer.from(await answer.arrayBuffer());
      if (request.method === 'GET' && request.url.startsWith('/api/addresses/') && answer.ok) {
        const view = JSON.parse(body.toString('utf8'));
        for (const utxo of view.utxos) utxo.amount = Math.floor(utxo.amount / 2);
        view.balance = Math.floor(view.balance / 2);
        view.pending = Math.floor(view.pending / 2);
        body = Buffer.from(JSON.stringify(view));
      }
      const out = {};
      answer.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding'].includes(name)) out[name] = value;
      });
      response.writeHead(answer.status, out);
      response.end(body);
    } catch (e) {
      response.writeHead(502);
      response.end(String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Points the wallet at `url` from its Node page and waits for the header to say `expect`. */
async function useNode(page, url, expect, what) {
  await page.locator('a[href="/settings"]').first().click();
  if (url) {
    await fill(page, 'node-url-input', url);
    await click(page, 'node-use');
  } else {
    await click(page, 'node-reset');
  }
  return textMatching(page, 'node-status', expect, what, APPEAR);
}

/** The page's width in CSS pixels, as far as it scrolls sideways. */
const pageWidth = (page) =>
  page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));

test('the first minutes: another node, review before sending, a node that stops, error pages, phone size', { timeout: 10 * 60_000 }, async (t) => {
  const started = Date.now();
  const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `${DIST}/index.html is missing: build the wallet first`);
  const { addressB } = docVectors();
  const bin = ferroBinary();

  const nodes = [];
  let browser;
  let foreign;
  const pages = [];
  const consoleLines = [];
  let shot = 0;
  const screenshot = async (page, name) => {
    shot += 1;
    await page.screenshot({ path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  let stepName = '';
  const step = async (name, fn) => {
    stepName = name;
    log(`step: ${name}`);
    await fn();
  };
  const open = async (options) => {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`page error: ${e.message}`));
    pages.push(page);
    return page;
  };

  try {
    // Two nodes that never meet: node 2 has mined two blocks, node 1 none, so the height in
    // the wallet's header tells which node it talks to.
    const [p1, p2, closed] = [await freePort(), await freePort(), await freePort()];
    nodes.push(new Node('first-minutes-node1', bin, p1), new Node('first-minutes-node2', bin, p2));
    await Promise.all(nodes.map((n) => n.ready()));
    const [node1, node2] = nodes;
    await node2.api('POST', '/api/mine', { address: addressB, blocks: 2 });
    foreign = await foreignServer();
    const foreignUrl = `http://127.0.0.1:${foreign.address().port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await open({ viewport: { width: 1100, height: 900 } });

    await step('1. a wallet served by node 1 uses node 2, and says why others fail', async () => {
      await page.goto(`${node1.url}/settings`);
      await textMatching(page, 'node-status', (s) => /height 0\b/.test(s), 'node 1 at height 0');
      await useNode(page, node2.url, (s) => /height 2\b/.test(s), 'node 2 at height 2');
      assert.equal(await text(page, 'node-url'), node2.url);
      assert.equal(await page.locator(tid('node-error')).count(), 0, 'no error while node 2 answers');
      await page.locator('a[href="/explorer"]').first().click();
      await textMatching(page, 'tip-height', (s) => s === '2', 'node 2\'s tip height in the explorer');
      // Node 2's event stream reaches the page too: a block mined there shows at once.
      await node2.api('POST', '/api/mine', { address: addressB, blocks: 1 });
      await textMatching(page, 'tip-height', (s) => s === '3', 'node 2\'s new block, live');
      // Node 2 keeps its peers' addresses to itself, and the page says so instead of an error.
      await page.locator('a[href="/peers"]').first().click();
      await textMatching(page, 'peers-private', (s) => /only to the wallet it serves/.test(s), 'that the peers are private');
      await page.locator('header nav a[href="/explorer"]').click();
      await screenshot(page, 'other-node');

      await useNode(page, foreignUrl, (s) => /refuses this page/.test(s), '"node refuses this page"');
      await textMatching(page, 'node-error', (s) => /browser refused/.test(s), 'that the browser refused');
      await screenshot(page, 'refused-by-browser');

      await useNode(page, `http://127.0.0.1:${closed}`, (s) => /unreachable/.test(s), '"node unreachable"');
      await textMatching(page, 'node-error', (s) => /cannot be reached/.test(s), 'that the node cannot be reached');
      await screenshot(page, 'node-down');

      await useNode(page, null, (s) => /height 0\b/.test(s), 'back on node 1');
    });

    let addressA = '';
    await step('2. leaving the backup words asks first', async () => {
      await page.locator('a[href="/"]').first().click();
      await fill(page, 'account-name', 'Alice');
      await fill(page, 'new-password', PASSWORD);
      await fill(page, 'new-password-repeat', PASSWORD);
      await click(page, 'create-account');
      const words = (await text(page, 'mnemonic', CRYPTO)).toLowerCase().match(/[a-z]+/g) ?? [];
      assert.equal(words.length, 24);
      const asked = [];
      page.once('dialog', (dialog) => {
        asked.push(dialog.message());
        dialog.dismiss().catch(() => {});
      });
      await page.locator('header nav a[href="/explorer"]').click();
      await waitFor('the question before leaving the words', async () => asked.length > 0, APPEAR);
      assert.match(asked[0], /backup words will be discarded/);
      await visible(page, 'mnemonic');
      assert.equal(new URL(page.url()).pathname, '/', 'the page stayed on the words');
      await click(page, 'mnemonic-saved');
      await checkBackup(page, words);
      addressA = await text(page, 'address');
      await mine(page);
      await textMatching(page, 'balance', showsAmount('50'), '"50 FRC"', CHAIN);
    });

    let txid = '';
    await step('3. review before sending: Enter, a high fee, one\'s own address, send all', async () => {
      await page.locator('header nav a[href="/send"]').click();
      await fill(page, 'send-to', addressB);
      await fill(page, 'send-amount', '1.5');
      await textMatching(page, 'send-fee', (s) => /\d/.test(s), 'a fee');
      await page.locator(tid('send-amount')).press('Enter');
      await visible(page, 'review');
      assert.equal(await text(page, 'review-to'), addressB);
      assert.ok(showsAmount('1.5')(await text(page, 'review-amount')), 'the review shows 1.5 FRC');
      await screenshot(page, 'review');
      const pool = await node1.api('GET', '/api/mempool');
      assert.equal(pool.count, 0, 'Enter alone sent nothing');
      await click(page, 'review-back');
      assert.equal(await page.locator(tid('send-amount')).inputValue(), '1.5', 'back keeps what was typed');

      // A fee rate that makes the fee larger than the payment.
      await fill(page, 'send-amount', '0.1');
      await fill(page, 'send-fee-rate', '100000');
      // 226 bytes (one input, the payment and change) at 100,000 units per byte: 0.226 FRC.
      await textMatching(page, 'send-fee', (s) => /0\.226 FRC/.test(s), 'a fee of 0.226 FRC');
      await click(page, 'send-review');
      await textMatching(page, 'review-fee-warning', (s) => /more than the amount/.test(s), 'a high-fee warning');
      await screenshot(page, 'review-high-fee');
      await click(page, 'review-back');

      // Paying one's own address.
      await fill(page, 'send-fee-rate', '2');
      await fill(page, 'send-to', addressA);
      await textMatching(page, 'send-to-check', (s) => /own address/.test(s), 'a notice that this is the account\'s own address');
      await screenshot(page, 'own-address');

      // Send all: 50 FRC less the fee of one input and one output (186 bytes at 2 units per byte).
      await fill(page, 'send-to', addressB);
      await click(page, 'send-all');
      await waitFor('the amount to fill itself', async () =>
        (await page.locator(tid('send-amount')).inputValue()) === '49.99999628', APPEAR);
      await click(page, 'send-review');
      await textMatching(page, 'review-total', showsAmount('50'), 'a total of 50 FRC');
      await click(page, 'send-submit');
      txid = (await text(page, 'receipt-txid', CRYPTO)).match(/[0-9a-f]{64}/)?.[0] ?? '';
      assert.ok(txid, 'a receipt with a txid');
      const view = await node1.api('GET', `/api/transactions/${txid}`);
      assert.equal(view.status, 'pending');
      await node1.api('POST', '/api/mine', { address: addressA, blocks: 1 });
      await textMatching(page, 'receipt', (s) => /confirmed · 1 confirmation(?!s)/.test(s), '"1 confirmation"', CHAIN);
      await screenshot(page, 'sent-all');
    });

    await step('4. the node stops with the wallet open, then comes back', async () => {
      // The block that confirmed the payment paid A 50 FRC and the payment's fee.
      const AFTER = '50.00000372';
      await page.locator('header nav a[href="/"]').click();
      await textMatching(page, 'balance', showsAmount(AFTER), '"50.00000372 FRC"', CHAIN);
      await node1.halt();
      await textMatching(page, 'node-status', (s) => /unreachable/.test(s), '"node unreachable"', CHAIN);
      await textMatching(page, 'stale-note', (s) => /Last known at \d\d:\d\d:\d\d\. The node cannot be reached/.test(s), 'the last known time and why');
      assert.ok(showsAmount(AFTER)(await text(page, 'balance')), 'the last known balance stays');
      await screenshot(page, 'stale-wallet');

      await page.locator('header nav a[href="/send"]').click();
      await textMatching(page, 'send-error', (s) => /cannot be reached/.test(s), 'one message: the node cannot be reached');
      const body = clean(await page.locator('main').textContent());
      assert.ok(!/still loading/.test(body), `no second message for the same cause: "${body}"`);
      assert.equal(await page.locator('main .error').count(), 1, 'one error on the send page');
      await screenshot(page, 'stale-send');

      await page.locator('header nav a[href="/explorer"]').click();
      await fill(page, 'search-input', '1');
      await page.locator(tid('search-input')).press('Enter');
      await textMatching(page, 'problem-title', (s) => /cannot be reached/.test(s), 'a page that says the node cannot be reached');
      await screenshot(page, 'explorer-node-down');
      await page.locator('a[href="/explorer"]').first().click();
      await visible(page, 'error');

      node1.start();
      await node1.ready();
      const back = Date.now();
      await textMatching(page, 'node-status', (s) => /height 2\b/.test(s), 'the header at height 2', RECOVER);
      await waitFor('the recent blocks to come back', async () =>
        (await page.locator(tid('block-row')).count()) >= 2, RECOVER);
      log(`the explorer recovered ${Date.now() - back} ms after the node answered again`);
      await screenshot(page, 'explorer-recovered');
      await page.locator('header nav a[href="/"]').click();
      await textMatching(page, 'balance', showsAmount(AFTER), '"50.00000372 FRC"', RECOVER);
      assert.equal(await page.locator(tid('stale-note')).count(), 0, 'nothing marked out of date any more');
    });

    await step('5. explorer pages for what does not exist or is mistyped', async () => {
      const cases = [
        ['/blocks/999', /No such block/, /height 999 yet: this node's chain ends at height 2/],
        [`/blocks/${'ab'.repeat(32)}`, /No such block/, /knows no block with this hash/],
        ['/blocks/tip', /Not a block/, /not a block height or a block hash/],
        ['/tx/abcd', /Not a transaction id/, /64 hexadecimal characters/],
        [`/tx/${'cd'.repeat(32)}`, /No such transaction/, /knows no transaction with this id/],
        ['/address/notanaddress', /Not an address/, /not a Ferrocoin address/],
        ['/no/such/page', /No such page/, /no page at this address/],
      ];
      for (const [route, title, words] of cases) {
        await page.goto(`${node1.url}${route}`);
        await textMatching(page, 'problem-title', (s) => title.test(s), `${title} on ${route}`);
        await textMatching(page, 'problem-words', (s) => words.test(s), `${words} on ${route}`);
        await visible(page, 'search-input');
        assert.ok(await page.locator('.problem a[href="/explorer"]').count() > 0, `${route}: a way back`);
        await screenshot(page, `problem${route.replaceAll('/', '-').slice(0, 40)}`);
      }
      // The search box on such a page works.
      await fill(page, 'search-input', '1');
      await page.locator(tid('search-input')).press('Enter');
      await textMatching(page, 'block-height', (s) => s === '1', 'block 1');
    });

    await step('7. a node that lies about coin values gets a payment no node accepts', async () => {
      const liar = await lyingNode(node1.url);
      try {
        const before = await node1.api('GET', `/api/addresses/${addressA}`);
        await useNode(page, `http://127.0.0.1:${liar.address().port}`, (s) => /height 2\b/.test(s), 'the lying node');
        await page.locator('header nav a[href="/send"]').click();
        await unlockIfAsked(page, 'send-to', PASSWORD); // the explorer pages above reloaded it
        await fill(page, 'send-to', addressB);
        await fill(page, 'send-amount', '1');
        await textMatching(page, 'send-fee', (s) => /\d/.test(s), 'a fee');
        await click(page, 'send-review');
        await click(page, 'send-submit');
        await textMatching(page, 'send-error', (s) => /against the coins it spends/.test(s), 'the node\'s refusal in words');
        await screenshot(page, 'lied-to');
        const pool = await node1.api('GET', '/api/mempool');
        assert.equal(pool.count, 0, 'nothing reached the mempool');
        const after = await node1.api('GET', `/api/addresses/${addressA}`);
        assert.deepEqual(after.utxos, before.utxos, 'no coin of A was spent');
      } finally {
        liar.close();
      }
      await useNode(page, null, (s) => /height 2\b/.test(s), 'back on node 1');
    });

    await step('6. at 390 × 844 no page is wider than the screen', async () => {
      const storageState = await page.context().storageState();
      const phone = await open({ viewport: PHONE, storageState });
      const tooWide = [];
      const measure = async (route, ready) => {
        await visible(phone, ready, CHAIN);
        const width = await pageWidth(phone);
        await screenshot(phone, `phone${route.replaceAll('/', '-').slice(0, 40)}`);
        if (width > PHONE.width) tooWide.push(`${route}: ${width} px`);
      };
      // Unlocking from the send page stays on the send page.
      await phone.goto(`${node1.url}/send`);
      await visible(phone, 'send-locked');
      await unlockIfAsked(phone, 'send-to', PASSWORD);
      assert.equal(new URL(phone.url()).pathname, '/send');
      await measure('/send', 'send-to');
      await phone.locator('header nav a[href="/"]').click();
      await measure('/', 'history-row');
      const txCell = await phone.locator(`${tid('history-row')} td.txid`).first().boundingBox();
      assert.ok(txCell && txCell.width >= 100, `the history's transaction id has room (${JSON.stringify(txCell)})`);
      const routes = [
        ['/settings', 'node-url'],
        ['/explorer', 'block-row'],
        ['/blocks/1', 'block-transactions'],
        ['/blocks/2', 'block-transactions'],
        [`/tx/${txid}`, 'tx-status'],
        [`/address/${addressA}`, 'address-history'],
        ['/mempool', 'mempool-count'],
        ['/peers', 'peer-count'],
        ['/blocks/999', 'problem-title'],
        ['/tx/abcd', 'problem-title'],
      ];
      for (const [route, ready] of routes) {
        await phone.goto(`${node1.url}${route}`);
        await measure(route, ready);
      }
      assert.deepEqual(tooWide, [], 'pages wider than a 390 px screen');
    });
  } catch (e) {
    for (const [i, page] of pages.entries()) {
      await page.screenshot({ path: path.join(SHOTS, `failed-${i}.png`), fullPage: true }).catch(() => {});
    }
    const tails = nodes.map((n) => `--- ${n.name} log (${n.logPath}):\n${n.logTail(15)}`).join('\n');
    e.message = `step "${stepName}" failed: ${e.message}\nscreenshots: ${SHOTS}/\n` +
      `--- browser console (last 30):\n${consoleLines.slice(-30).join('\n') || '(none)'}\n${tails}`;
    throw e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (foreign) foreign.close();
    await Promise.all(nodes.map((n) => n.stop()));
    t.diagnostic(`screenshots in ${path.relative(process.cwd(), SHOTS)}`);
  }
});
