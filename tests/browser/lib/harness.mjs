// What the browser tests share: real `ferro node` processes, waiting, and reading and driving
// pages by their data-testid attributes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DIST = path.join(ROOT, 'dist');
export const OUT = path.join(ROOT, 'target', 'browser');

// Timeouts, generous: Argon2id with 19 MiB in wasm takes a second or two per seal or unlock on
// a slow machine, and the debug node is not fast either.
export const APPEAR = 30_000; // a control that should be on screen
export const CRYPTO = 120_000; // anything behind a seal or unlock
export const CHAIN = 60_000; // a balance or status that follows a block

// ---------------------------------------------------------------------------------------------
// Documented vectors

export function docVectors() {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');
  const line = (label) => {
    const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = doc.match(new RegExp(`^${escaped} = (\\S+)$`, 'm'));
    assert.ok(m, `docs/protocol.md has no line "${label} = ..."`);
    return m[1];
  };
  return {
    addressB: line('account(0).address.dev'),
    secretKeyB: line('account(0).secret_key').toLowerCase(),
  };
}

// ---------------------------------------------------------------------------------------------
// Nodes

export function ferroBinary() {
  if (process.env.FERRO_BIN) {
    assert.ok(fs.existsSync(process.env.FERRO_BIN), `FERRO_BIN=${process.env.FERRO_BIN} does not exist`);
    return process.env.FERRO_BIN;
  }
  const candidates = ['debug', 'release']
    .map((profile) => path.join(ROOT, 'target', profile, 'ferro'))
    .filter((p) => fs.existsSync(p))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  assert.ok(
    candidates.length > 0,
    'no ferro binary: run `cargo build -p ferro-node --bin ferro` (or set FERRO_BIN)',
  );
  return candidates[0];
}


export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Node {
  constructor(name, bin, port) {
    this.name = name;
    this.bin = bin;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `ferro-browser-${name}-`));
    this.logPath = path.join(OUT, `${name}.log`);
    fs.writeFileSync(this.logPath, '');
    this.start();
  }

  /** Starts the node process (again, after `halt`: same port, same data). */
  start() {
    const log = fs.openSync(this.logPath, 'a');
    const args = ['node', '--network', 'dev', '--data-dir', this.dataDir,
      '--listen', `127.0.0.1:${this.port}`, '--web-dir', DIST];
    fs.writeSync(log, `$ ${this.bin} ${args.join(' ')}\n`);
    this.exit = null;
    const child = spawn(this.bin, args, { stdio: ['ignore', log, log], env: { ...process.env, NO_COLOR: '1' } });
    this.child = child;
    fs.closeSync(log);
    // Should the test process end without reaching `stop` (a runner timeout), take the node along.
    process.once('exit', () => {
      if (this.child === child && this.exit === null) child.kill('SIGKILL');
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
      child.on('error', (err) => {
        this.exit = { error: err.message };
        resolve();
      });
    });
  }

  logTail(lines = 30) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async api(method, route, body) {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${this.name}: ${method} ${route} -> ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async ready(timeout = 60_000) {
    const deadline = Date.now() + timeout;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exit) {
        throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before answering:\n${this.logTail()}`);
      }
      try {
        return await this.api('GET', '/api/status');
      } catch (e) {
        last = e.message;
      }
      await sleep(200);
    }
    throw new Error(`${this.name} did not answer /api/status within ${timeout} ms (${last}):\n${this.logTail()}`);
  }

  /** Stops the node process, keeping its data for `start`. */
  async halt() {
    if (this.exit === null) {
      this.child.kill('SIGTERM');
      let timer;
      const stopped = await Promise.race([
        this.exited.then(() => true),
        new Promise((resolve) => { timer = setTimeout(() => resolve(false), 10_000); }),
      ]);
      clearTimeout(timer); // a pending timer would keep the test process alive
      if (!stopped) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
  }

  /** Stops the node and deletes its data. */
  async stop() {
    await this.halt();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function waitFor(what, probe, timeout) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (e) {
      last = e.message;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

// ---------------------------------------------------------------------------------------------
// Pages

export const tid = (id) => `[data-testid="${id}"]`;

/** Waits until the element with data-testid `id` is visible; fails naming it if it never is. */
export async function visible(page, id, timeout = APPEAR) {
  const locator = page.locator(tid(id)).first();
  try {
    await locator.waitFor({ state: 'visible', timeout });
  } catch {
    throw new Error(`[data-testid=${id}] did not appear within ${timeout} ms on ${page.url()}`);
  }
  return locator;
}

export const clean = (s) => (s ?? '').replace(/\s+/g, ' ').trim();

export async function text(page, id, timeout = APPEAR) {
  return clean(await (await visible(page, id, timeout)).textContent());
}

/** Waits until [data-testid=id]'s text satisfies `ok`; fails showing the last text seen. */
export async function textMatching(page, id, ok, what, timeout = APPEAR) {
  const locator = await visible(page, id, timeout);
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = clean(await locator.textContent().catch(() => ''));
    if (ok(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`[data-testid=${id}] on ${page.url()} never showed ${what} within ${timeout} ms; last text: "${last}"`);
    }
    await sleep(200);
  }
}

/** The first of the testids to become visible; fails naming them all if none does. */
export async function firstVisible(page, ids, timeout = APPEAR) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const id of ids) {
      if (await page.locator(tid(id)).first().isVisible().catch(() => false)) return id;
    }
    await sleep(150);
  }
  throw new Error(`none of ${ids.map((i) => `[data-testid=${i}]`).join(', ')} appeared within ${timeout} ms on ${page.url()}`);
}

export async function fill(page, id, value) {
  await (await visible(page, id)).fill(value);
}

export async function click(page, id, timeout = APPEAR) {
  await (await visible(page, id, timeout)).click();
}

/** Fails with the text of the error element if one is on screen. */
export async function noError(page, id) {
  const locator = page.locator(tid(id)).first();
  if (await locator.isVisible().catch(() => false)) {
    const message = clean(await locator.textContent());
    if (message) throw new Error(`[data-testid=${id}] on ${page.url()} says: "${message}"`);
  }
}

/** "50 FRC", but not "150 FRC" or "0.50 FRC". */
export const showsAmount = (amount) => {
  const re = new RegExp(`(^|[^\\d.])${amount.replace('.', '\\.')} FRC\\b`);
  return (s) => re.test(s);
};

/**
 * Goes to a wallet route: through an in-app link when the page shows one (no reload, the
 * wallet stays unlocked and keeps its event stream), else by loading the URL. Unlocks the
 * wallet if it asks, then waits for `expect`.
 */
export async function navigate(page, origin, route, expect, password) {
  const link = page.locator(`a[href="${route}"]`).first();
  if (await link.isVisible().catch(() => false)) {
    await link.click();
  } else {
    await page.goto(`${origin}${route}`);
  }
  await unlockIfAsked(page, expect, password);
}

export async function unlockIfAsked(page, expect, password) {
  const seen = await firstVisible(page, [expect, 'unlock-password'], CRYPTO);
  if (seen === 'unlock-password') {
    await fill(page, 'unlock-password', password);
    await click(page, 'unlock');
    const next = await firstVisible(page, [expect, 'unlock-error'], CRYPTO);
    if (next === 'unlock-error') await noError(page, 'unlock-error');
    await visible(page, expect, CRYPTO);
  }
}

export async function mine(page) {
  await click(page, 'mine');
  const seen = await firstVisible(page, ['mine-result', 'mine-error'], CHAIN);
  if (seen === 'mine-error') await noError(page, 'mine-error');
}

/**
 * Answers the backup check after "I wrote them down": one or more rounds of "type word N" from
 * `words`, until the new account's address shows. `onFirstRound` runs once the first word is in.
 */
export async function checkBackup(page, words, onFirstRound = async () => {}) {
  for (let round = 1; ; round++) {
    assert.ok(round <= 24, 'the backup check never ends');
    const indexText = await text(page, 'mnemonic-check-index');
    const n = Number(indexText.match(/\d+/)?.[0]);
    assert.ok(n >= 1 && n <= 24, `[data-testid=mnemonic-check-index] should name a word 1..24, shows "${indexText}"`);
    await fill(page, 'mnemonic-check-input', words[n - 1]);
    if (round === 1) await onFirstRound();
    await click(page, 'mnemonic-check-submit');
    const deadline = Date.now() + CRYPTO;
    let next = null;
    while (!next) {
      if (await page.locator(tid('address')).first().isVisible().catch(() => false)) next = 'done';
      else if (await page.locator(tid('mnemonic-check-error')).first().isVisible().catch(() => false)) {
        await noError(page, 'mnemonic-check-error');
      } else if (
        await page.locator(tid('mnemonic-check-index')).first().isVisible().catch(() => false) &&
        clean(await page.locator(tid('mnemonic-check-index')).first().textContent().catch(() => '')) !== indexText
      ) next = 'again';
      else if (Date.now() > deadline) {
        throw new Error(`after typing word ${n}, neither [data-testid=address] nor another check appeared within ${CRYPTO} ms`);
      } else await sleep(200);
    }
    if (next === 'done') return;
  }
}
