// The browser wallet verifies what it shows: a real node behind a lying proxy (lib/liar.mjs)
// that serves the wallet and the API. With each lie in turn the verified balance and history
// stay what the chain holds, nothing of the lie is shown as verified, and a warning names the
// node (the proxy's URL):
//
//   (a) fake-payment: a confirmed incoming payment that never happened
//   (b) hide-payment: the account's real payments left out
//   (c) bad-pow:      a header whose proof of work fails
//   (d) bad-filter:   filters that do not match their headers' commitments
//   and a receipt's inclusion proof that leads to another Merkle root
//
// Keys and backup words still never leave the browser. Screenshots go to target/browser/verify/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.mjs';
import { freePort } from './lib/net.mjs';
import { FAKE_TXID, LyingProxy } from './lib/liar.mjs';
import {
  APPEAR, CHAIN, CRYPTO, DIST, Node, OUT, checkBackup, click, clean, ferroBinary, fill, showsAmount, text,
  textMatching, tid, unlockIfAsked, visible, waitFor,
} from './lib/harness.mjs';

const PASSWORD = 'verify every header';
const OTHER = 'fdev1sz5lnx2hk2d0yqecqd70qcmqh325ytjmhgqr9w6pxeyccfu20kcse2ucmp';
const SHOTS = path.join(OUT, 'verify');

/** Creates an account on the page's wallet; returns its backup words and address. */
async function createAccount(page) {
  await fill(page, 'account-name', 'Verifier');
  await fill(page, 'new-password', PASSWORD);
  await fill(page, 'new-password-repeat', PASSWORD);
  await click(page, 'create-account');
  const words = (await text(page, 'mnemonic', CRYPTO)).toLowerCase().match(/[a-z]+/g) ?? [];
  await click(page, 'mnemonic-saved');
  await checkBackup(page, words);
  return { words, address: await text(page, 'address') };
}

test('browser wallet: what a lying node serves is refused, named, and never shown as verified', { timeout: 10 * 60_000 }, async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `${DIST}/index.html is missing: build the wallet first`);
  fs.rmSync(SHOTS, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  const node = new Node('verify-node', ferroBinary(), await freePort());
  const proxy = new LyingProxy({ host: '127.0.0.1', port: node.port }, await freePort());
  let browser;
  let shot = 0;
  const sent = [];
  try {
    await node.ready();
    await proxy.start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    context.on('request', (r) => sent.push(`${r.url()} ${r.postData() ?? ''}`));
    const page = await context.newPage();
    const screenshot = async (name) => {
      shot += 1;
      await page.screenshot({ path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
    };
    const mineTo = (address, blocks = 1) => node.api('POST', '/api/mine', { address, blocks });
    const verifiedTo = (height) =>
      textMatching(page, 'verify-status', (s) => s.includes(`Verified to block ${height} `), `verified to block ${height}`, CHAIN);
    const named = async (id, ...words) => {
      const said = await text(page, id, CHAIN);
      assert.ok(said.includes(proxy.url), `[data-testid=${id}] should name the node ${proxy.url}: "${said}"`);
      for (const w of words) assert.ok(said.includes(w), `[data-testid=${id}] should say "${w}": "${said}"`);
      return said;
    };
    const verifiedBalance = async (amount) => {
      await textMatching(page, 'balance', showsAmount(amount), `"${amount} FRC"`, CHAIN);
      assert.equal(await text(page, 'balance-badge'), 'verified');
    };

    // An account, paid twice, verified through the proxy while it tells the truth.
    await page.goto(`${proxy.url}/`);
    const { words, address } = await createAccount(page);
    await mineTo(address, 2);
    await verifiedTo(2);
    await verifiedBalance('100');
    await screenshot('honest');

    // (a) A payment that never happened: not counted, not verified, the node named.
    proxy.mode = 'fake-payment';
    await mineTo(OTHER);
    await verifiedTo(3);
    await named('verify-unproven', 'does not hold');
    await named('verify-mismatch', '107 FRC');
    await verifiedBalance('100');
    const rows = await page.locator(tid('history-row')).allTextContents();
    assert.ok(!rows.some((r) => r.includes(FAKE_TXID.slice(0, 8))), `the fake payment is listed: ${rows}`);
    await screenshot('fake-payment');

    // (b) Payments left out: the verified history still has both, the node named.
    proxy.mode = 'hide-payment';
    await mineTo(OTHER);
    await verifiedTo(4);
    await named('verify-mismatch', '0 FRC');
    await verifiedBalance('100');
    const badges = (await page.locator(tid('history-badge')).allTextContents()).map(clean);
    assert.equal(badges.filter((b) => b === 'verified').length, 2, `two verified payments: ${badges}`);
    await screenshot('hide-payment');

    // (c) A header without its proof of work: refused and named; what was verified stays.
    proxy.mode = 'bad-pow';
    await mineTo(OTHER);
    await named('verify-warning', 'header at height 5', 'does not meet its target');
    await verifiedTo(4);
    await verifiedBalance('100');
    await screenshot('bad-pow');

    // (d) Filters that do not match their commitments, from a fresh page (the scan starts over
    // from the headers kept in IndexedDB): refused and named; no balance claims to be verified.
    proxy.mode = 'bad-filter';
    await page.reload();
    await unlockIfAsked(page, 'balance', PASSWORD);
    await named('verify-warning', 'filter of block 1');
    assert.equal(await text(page, 'balance-badge'), 'unverified');
    await screenshot('bad-filter');

    // Told the truth again, the wallet verifies to the tip.
    proxy.mode = 'honest';
    await mineTo(OTHER);
    await verifiedTo(6);
    await verifiedBalance('100');
    await screenshot('honest-again');

    // A receipt: the inclusion proof of the account's first payment, checked against the
    // wallet's own headers; then a proof that leads elsewhere, refused and named.
    await page.locator(`${tid('history-row')} a`).last().click();
    await textMatching(
      page, 'tx-proof', (s) => /^Included in block 1, verified against proof of work, 6 confirmations$/.test(s),
      '"Included in block 1, verified against proof of work, 6 confirmations"', CHAIN,
    );
    await screenshot('proof');
    proxy.mode = 'bad-proof';
    await page.reload();
    await named('tx-proof', 'Not verified', 'does not lead to the Merkle root of block 1');
    await screenshot('bad-proof');
    assert.ok(proxy.served.length >= 5, `the proxy lied: ${proxy.served}`);

    // Nothing secret left the browser.
    for (const line of sent) {
      assert.ok(!line.includes(PASSWORD), `the password was sent: ${line}`);
      for (let i = 0; i + 3 <= words.length; i++) {
        assert.ok(!line.toLowerCase().includes(words.slice(i, i + 3).join(' ')), `backup words were sent: ${line}`);
      }
    }
  } finally {
    await browser?.close();
    await proxy.stop().catch(() => {});
    await node.stop();
  }
});

// Several nodes: the wallet's own node (behind the lying proxy) serves filters that fail; an
// honest peer of it serves good ones, so the account is still verified to the tip; a third node
// on a chain of its own is named as being on another chain.
test('browser wallet: other nodes verify what its own node will not, and one on another chain is named', { timeout: 10 * 60_000 }, async () => {
  const bin = ferroBinary();
  const nodeA = new Node('verify-a', bin, await freePort());
  const nodeB = new Node('verify-b', bin, await freePort());
  const nodeC = new Node('verify-c', bin, await freePort());
  const proxy = new LyingProxy({ host: '127.0.0.1', port: nodeA.port }, await freePort());
  let browser;
  try {
    await Promise.all([nodeA, nodeB, nodeC].map((n) => n.ready()));
    await proxy.start();
    await nodeB.api('POST', '/api/peers', { url: `ws://127.0.0.1:${nodeA.port}/p2p` });
    await nodeC.api('POST', '/api/mine', { address: OTHER, blocks: 1 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 1000 } })).newPage();
    await page.goto(`${proxy.url}/`);
    const { address } = await createAccount(page);
    await nodeA.api('POST', '/api/mine', { address, blocks: 2 });
    await textMatching(page, 'verify-status', (s) => s.includes('Verified to block 2 '), 'verified to block 2', CHAIN);
    await waitFor('node B to follow node A', async () => (await nodeB.api('GET', '/api/status')).height === 2, CHAIN);

    await page.goto(`${proxy.url}/settings`);
    await fill(page, 'other-nodes-input', `${nodeB.url}\n${nodeC.url}`);
    await click(page, 'other-nodes-save');
    await textMatching(page, 'other-nodes-result', (s) => s.includes('2 other node'), 'two other nodes', APPEAR);

    proxy.mode = 'bad-filter';
    await page.goto(`${proxy.url}/`);
    await unlockIfAsked(page, 'balance', PASSWORD);
    await textMatching(page, 'verify-status', (s) => s.includes('Verified to block 2 '), 'verified to block 2', CHAIN);
    await textMatching(page, 'balance', showsAmount('100'), '"100 FRC"', CHAIN);
    assert.equal(await text(page, 'balance-badge'), 'verified');
    const warning = await textMatching(
      page, 'verify-warning', (s) => s.includes(proxy.url) && s.includes(nodeC.url), 'the proxy and node C named', CHAIN,
    );
    assert.ok(warning.includes('filter of block 1'), warning);
    assert.ok(warning.includes('is on another chain'), warning);
    assert.ok(!warning.includes(nodeB.url), `the honest node B is not named: ${warning}`);
    await page.screenshot({ path: path.join(SHOTS, 'several-nodes.png'), fullPage: true });
  } finally {
    await browser?.close();
    await proxy.stop().catch(() => {});
    await Promise.all([nodeA, nodeB, nodeC].map((n) => n.stop()));
  }
});
