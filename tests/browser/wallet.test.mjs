// End-to-end test of the browser wallet: two real `ferro node` processes, headless Chromium
// driven by playwright-core, and the user's whole path through the wallet.
//
//   node 1 ◀──p2p── node 2
//     ▲                ▲
//   page 1 (A)       page 2 (B)
//
// 1. Page 1 creates account A, confirms a word of its backup, mines: balance "50 FRC".
// 2. Page 2 restores account B from the documented phrase (abandon ×23 art) and shows the
//    documented address (docs/protocol.md, "Mnemonic" test vectors).
// 3. Page 1 sends 1.5 FRC to B (receipt "pending"), then mines it into a block.
// 4. Page 2 shows "1.5 FRC" live (from node 2's events); the explorer shows the transaction
//    confirmed.
// Throughout, every request and WebSocket frame the pages send is recorded; none may carry
// A's words, B's phrase, B's secret key, the password or a sealed vault's ciphertext.
//
// Run: `node --test tests/browser/` after `bash scripts/build-wallet.sh` and a cargo build of
// the ferro binary (target/debug/ferro or target/release/ferro, whichever is newer;
// FERRO_BIN overrides). Screenshots of every step and both nodes' logs go to target/browser/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './lib/chromium.mjs';
import { freePort } from './lib/net.mjs';
import {
  APPEAR, CHAIN, CRYPTO, DIST, Node, OUT, ROOT, checkBackup, click, docVectors, ferroBinary, fill, firstVisible,
  mine, navigate, noError, showsAmount, text, textMatching, unlockIfAsked, visible, waitFor,
} from './lib/harness.mjs';

const PASSWORD_A = 'correct horse battery';
const PASSWORD_B = 'battery staple horse';
const PHRASE_B = `${'abandon '.repeat(23)}art`;

const LIVE = 20_000; // how long B's balance may take to follow a block without a reload

fs.mkdirSync(OUT, { recursive: true });
// Screenshots of an earlier run would mislead: keep only this run's.
for (const f of fs.readdirSync(OUT)) if (f.endsWith('.png')) fs.rmSync(path.join(OUT, f));

// ---------------------------------------------------------------------------------------------
// What the pages send

/** Lowercase letters-only words of a text, as one space-padded string. */
function wordsOf(s) {
  let decoded = s;
  try {
    decoded = decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    // not URL-encoded
  }
  return ` ${`${s} ${decoded}`.toLowerCase().split(/[^a-z]+/).filter(Boolean).join(' ')} `;
}

function triples(words) {
  const out = [];
  for (let i = 0; i + 3 <= words.length; i++) out.push(words.slice(i, i + 3).join(' '));
  return [...new Set(out)];
}

/** The "ciphertext" values of every sealed vault in the page's storage. */
async function vaultCiphertexts(page) {
  const stored = await page.evaluate(() => {
    const all = [];
    for (const storage of [window.localStorage, window.sessionStorage]) {
      for (let i = 0; i < storage.length; i++) all.push(storage.getItem(storage.key(i)) ?? '');
    }
    return all;
  });
  const found = new Set();
  for (const value of stored) {
    for (const m of value.matchAll(/\\*"ciphertext\\*"\s*:\s*\\*"([^"\\]+)/g)) found.add(m[1]);
  }
  return [...found];
}

// ---------------------------------------------------------------------------------------------

test('browser wallet: create, mine, restore, send, confirm across two nodes', { timeout: 15 * 60_000 }, async (t) => {
  const started = Date.now();
  const log = (msg) => {
    const line = `[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`;
    console.log(line);
  };

  assert.ok(
    fs.existsSync(path.join(DIST, 'index.html')),
    `${DIST}/index.html is missing: build the wallet first (bash scripts/build-wallet.sh)`,
  );
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/setup-browser.sh`);
  const { addressB, secretKeyB } = docVectors();
  const bin = ferroBinary();
  log(`ferro binary: ${path.relative(ROOT, bin)}; screenshots and node logs: ${path.relative(ROOT, OUT)}/`);

  const nodes = [];
  let browser;
  const pages = {};
  const consoleLines = [];
  const sent = []; // every request and WebSocket frame the pages sent
  let shot = 0;
  const screenshot = async (page, name) => {
    shot += 1;
    const file = path.join(OUT, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  };
  let stepName = '';
  const step = async (name, fn) => {
    stepName = name;
    log(`step: ${name}`);
    await fn();
  };

  try {
    await step('start two nodes and connect them', async () => {
      const [p1, p2] = [await freePort(), await freePort()];
      nodes.push(new Node('node1', bin, p1), new Node('node2', bin, p2));
      await Promise.all(nodes.map((n) => n.ready()));
      const home = await fetch(`${nodes[0].url}/`).then((r) => r.text());
      assert.ok(
        !home.includes('browser wallet is not built'),
        `node 1 serves the "not built" page: is ${DIST} a Trunk build?`,
      );
      await nodes[1].api('POST', '/api/peers', { url: `ws://127.0.0.1:${p1}/p2p` });
      await waitFor('the two nodes to see each other', async () => {
        const [a, b] = await Promise.all(nodes.map((n) => n.api('GET', '/api/peers')));
        return a.length >= 1 && b.length >= 1;
      }, 30_000);
    });
    const [node1, node2] = nodes;

    // playwright-core launches with a fresh temporary profile (its own --user-data-dir), and
    // each page gets its own context: no state from earlier runs or from the other page.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const open = async (label) => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
      context.on('request', (request) => {
        let body = null;
        try {
          body = request.postData();
        } catch {
          body = request.postDataBuffer()?.toString('latin1') ?? null;
        }
        sent.push({ page: label, kind: 'request', url: request.url(), method: request.method(), body });
      });
      const page = await context.newPage();
      page.on('websocket', (ws) => {
        sent.push({ page: label, kind: 'websocket', url: ws.url(), body: null });
        ws.on('framesent', (frame) => {
          const payload = typeof frame.payload === 'string' ? frame.payload : frame.payload.toString('latin1');
          sent.push({ page: label, kind: 'ws-frame', url: ws.url(), body: payload });
        });
      });
      page.on('console', (m) => consoleLines.push(`${label} console.${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`${label} page error: ${e.message}`));
      pages[label] = page;
      return page;
    };
    const page1 = await open('page1');
    const page2 = await open('page2');

    let wordsA = [];
    let addressA = '';
    await step('page 1: create account A and confirm a backup word', async () => {
      await page1.goto(`${node1.url}/`);
      await fill(page1, 'account-name', 'Alice');
      await fill(page1, 'new-password', PASSWORD_A);
      await fill(page1, 'new-password-repeat', PASSWORD_A);
      await screenshot(page1, 'create-form');
      await click(page1, 'create-account');
      const mnemonic = await text(page1, 'mnemonic', CRYPTO);
      wordsA = mnemonic.toLowerCase().match(/[a-z]+/g) ?? [];
      assert.equal(wordsA.length, 24, `[data-testid=mnemonic] should show 24 words, shows: "${mnemonic}"`);
      await screenshot(page1, 'mnemonic');
      await click(page1, 'mnemonic-saved');

      await checkBackup(page1, wordsA, () => screenshot(page1, 'mnemonic-check'));
      addressA = await text(page1, 'address');
      assert.match(addressA, /^fdev1[02-9ac-hj-np-z]+$/, `account A's address "${addressA}" is not a dev address`);
      await screenshot(page1, 'account-a');
      log(`account A: ${addressA}`);
    });

    await step('page 1: mine a block to A, balance "50 FRC"', async () => {
      await mine(page1);
      await textMatching(page1, 'balance', showsAmount('50'), '"50 FRC"', CHAIN);
      await screenshot(page1, 'mined-a');
    });

    const ciphertexts = [];
    ciphertexts.push(...(await vaultCiphertexts(page1)));
    assert.ok(
      ciphertexts.length > 0,
      'page 1 keeps no sealed vault (JSON with "ciphertext") in localStorage or sessionStorage',
    );

    await step('page 2: restore account B from "abandon ×23 art"', async () => {
      await page2.goto(`${node2.url}/`);
      await click(page2, 'show-restore');
      await fill(page2, 'restore-name', 'Bob');
      await fill(page2, 'restore-words', PHRASE_B);
      await fill(page2, 'restore-password', PASSWORD_B);
      await fill(page2, 'restore-password-repeat', PASSWORD_B);
      await screenshot(page2, 'restore-form');
      await click(page2, 'restore-account');
      const seen = await firstVisible(page2, ['address', 'restore-error'], CRYPTO);
      if (seen === 'restore-error') await noError(page2, 'restore-error');
      const shown = await text(page2, 'address', CRYPTO);
      assert.equal(shown, addressB, 'account B\'s address should be docs/protocol.md account(0).address.dev');
      await visible(page2, 'balance', CHAIN);
      await screenshot(page2, 'account-b');
      ciphertexts.push(...(await vaultCiphertexts(page2)));
    });

    let txid = '';
    await step('page 1: send 1.5 FRC to B, receipt "pending"', async () => {
      await navigate(page1, node1.url, '/send', 'send-to', PASSWORD_A);
      await fill(page1, 'send-to', addressB);
      await fill(page1, 'send-amount', '1.5');
      await textMatching(page1, 'send-fee', (s) => /\d/.test(s), 'a fee', APPEAR);
      await screenshot(page1, 'send-form');
      await click(page1, 'send-review');
      await textMatching(page1, 'review-amount', showsAmount('1.5'), '"1.5 FRC"');
      await screenshot(page1, 'send-review');
      await click(page1, 'send-submit');
      const seen = await firstVisible(page1, ['receipt-txid', 'send-error'], CRYPTO);
      if (seen === 'send-error') await noError(page1, 'send-error');
      const shown = await text(page1, 'receipt-txid', CRYPTO);
      txid = shown.match(/[0-9a-f]{64}/)?.[0] ?? '';
      assert.ok(txid, `[data-testid=receipt-txid] should show a 64-hex txid, shows "${shown}"`);
      await textMatching(page1, 'receipt-status', (s) => /pending/i.test(s), '"pending"');
      await screenshot(page1, 'receipt');
      const view = await node1.api('GET', `/api/transactions/${txid}`);
      assert.equal(view.status, 'pending', 'node 1 should hold the transaction in its mempool');
      log(`txid ${txid}`);
    });

    await step('page 1: mine the transaction into a block', async () => {
      await navigate(page1, node1.url, '/', 'mine', PASSWORD_A);
      await mine(page1);
      await screenshot(page1, 'mined-tx');
    });

    await step('page 2: B\'s balance becomes "1.5 FRC" (live)', async () => {
      try {
        await textMatching(page2, 'balance', showsAmount('1.5'), '"1.5 FRC"', LIVE);
        log('B\'s balance followed the block live');
      } catch (e) {
        const message = `B's balance did not follow the block live within ${LIVE} ms (${e.message}); reloading`;
        log(`WARNING: ${message}`);
        t.diagnostic(message);
        await screenshot(page2, 'balance-b-not-live');
        await page2.reload();
        await unlockIfAsked(page2, 'balance', PASSWORD_B);
        await textMatching(page2, 'balance', showsAmount('1.5'), '"1.5 FRC"', CHAIN);
      }
      await screenshot(page2, 'balance-b');
    });

    await step('the explorer on node 1 shows the transaction confirmed', async () => {
      await navigate(page1, node1.url, `/tx/${txid}`, 'tx-status', PASSWORD_A);
      await textMatching(page1, 'tx-status', (s) => /confirmed/i.test(s), '"confirmed"', CHAIN);
      await textMatching(page1, 'tx-confirmations', (s) => /[1-9]/.test(s), 'at least 1 confirmation', CHAIN);
      await screenshot(page1, 'tx-confirmed');
      const view = await node2.api('GET', `/api/transactions/${txid}`);
      assert.equal(view.status, 'confirmed', 'node 2 should have the transaction in a block');
    });

    await step('no request carried a secret', async () => {
      const secrets = [
        ...triples(wordsA).map((w) => ({ what: `3 consecutive words of A's backup ("${w}")`, words: w })),
        ...triples(PHRASE_B.split(' ')).map((w) => ({ what: `B's phrase in sequence ("${w}")`, words: w })),
        { what: 'B\'s secret key (hex)', raw: secretKeyB },
        { what: 'B\'s secret key (base64)', raw: Buffer.from(secretKeyB, 'hex').toString('base64') },
        { what: 'B\'s secret key (base64url)', raw: Buffer.from(secretKeyB, 'hex').toString('base64url') },
        { what: 'A\'s password', raw: PASSWORD_A },
        { what: 'B\'s password', raw: PASSWORD_B },
        ...ciphertexts.map((c) => ({ what: `a vault ciphertext (${c.slice(0, 12)}…)`, raw: c })),
      ];
      const leaks = [];
      for (const item of sent) {
        const blob = `${item.url}\n${item.body ?? ''}`;
        const lower = blob.toLowerCase();
        let decoded = lower;
        try {
          decoded = decodeURIComponent(lower.replace(/\+/g, ' '));
        } catch {
          // not URL-encoded
        }
        const words = wordsOf(blob);
        for (const s of secrets) {
          const hit = s.words
            ? words.includes(` ${s.words} `)
            : lower.includes(s.raw.toLowerCase()) || decoded.includes(s.raw.toLowerCase());
          if (hit) leaks.push(`${item.page} ${item.kind} ${item.method ?? ''} ${item.url}: ${s.what}`);
        }
      }
      const offsite = sent.filter((r) => !/^(wss?|https?):\/\/127\.0\.0\.1:\d+\//.test(r.url) && !/^(data|blob):/.test(r.url));
      fs.writeFileSync(path.join(OUT, 'requests.json'), JSON.stringify(sent, null, 1));
      log(`${sent.length} requests and frames recorded (target/browser/requests.json)`);
      assert.deepEqual(leaks, [], 'a page sent a secret');
      assert.deepEqual(offsite.map((r) => r.url), [], 'the wallet talked to a host other than its node');
    });
  } catch (e) {
    for (const [label, page] of Object.entries(pages)) {
      await page.screenshot({ path: path.join(OUT, `failed-${label}.png`), fullPage: true }).catch(() => {});
    }
    const tails = nodes.map((n) => `--- ${n.name} log (${n.logPath}):\n${n.logTail(15)}`).join('\n');
    const consoleTail = consoleLines.slice(-40).join('\n') || '(none)';
    e.message = `step "${stepName}" failed: ${e.message}\n` +
      `screenshots: ${OUT}/failed-*.png\n--- browser console (last 40):\n${consoleTail}\n${tails}`;
    throw e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

test('browser wallet: tabs follow each other, and an unreadable wallet is set aside, not lost', { timeout: 5 * 60_000 }, async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `${DIST}/index.html is missing: build the wallet first`);
  const node = new Node('node-tabs', ferroBinary(), await freePort());
  let browser;
  try {
    await node.ready();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    // Two tabs of one browser profile share its storage.
    const context = await browser.newContext();
    const [first, second] = [await context.newPage(), await context.newPage()];
    for (const page of [first, second]) {
      await page.goto(`${node.url}/`);
      await firstVisible(page, ['show-restore', 'show-create']);
    }

    // The first tab's storage gets a wallet nobody can read; the second tab follows at once.
    const garbage = '{"version": 1, "accounts": [broken';
    await first.evaluate((raw) => localStorage.setItem('ferro.vault', raw), garbage);
    assert.match(await text(second, 'vault-error'), /damaged/);
    await first.reload();
    await visible(first, 'vault-error');
    await first.screenshot({ path: path.join(OUT, 'tabs-unreadable.png'), fullPage: true });

    // Setting it aside keeps its bytes under a key of its own and leaves a fresh start, in both tabs.
    await click(first, 'vault-set-aside');
    await firstVisible(first, ['show-restore', 'show-create']);
    await firstVisible(second, ['show-restore', 'show-create']);
    const kept = await first.evaluate(() => {
      const out = {};
      for (let i = 0; i < localStorage.length; i += 1) {
        const key = localStorage.key(i);
        out[key] = localStorage.getItem(key);
      }
      return out;
    });
    assert.equal(kept['ferro.vault'], undefined, 'the unreadable wallet is no longer the wallet');
    const aside = Object.keys(kept).filter((k) => k.startsWith('ferro.vault.unreadable.'));
    assert.equal(aside.length, 1, `one copy set aside: ${JSON.stringify(Object.keys(kept))}`);
    assert.equal(kept[aside[0]], garbage, 'the copy set aside is byte for byte what was stored');
  } finally {
    if (browser) await browser.close().catch(() => {});
    await node.stop();
  }
});
