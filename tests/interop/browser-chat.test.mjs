// The chat page of `sio serve` in a real browser: Debian's chromium driven
// by the npm package playwright-core. Two pages (two separate browser
// profiles) load the page, which loads the official browser client from
// /socket.io/socket.io.js on our server; they join a room, see each other
// in the member list, see the typing indicator, exchange messages whose
// ticks go from "sent" (the server's ack) to "delivered" (every recipient
// acked), and one leaves. Screenshots: target/browser-chat-*.png.
//
// Chromium: $CHROMIUM_PATH or /usr/bin/chromium (scripts/setup installs
// it). Without it the test is skipped, except under CI=true, where it fails.

import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { chromium } from "playwright-core";

import { REPO_ROOT } from "./lib/server.mjs";
import { startSioServe } from "./lib/sio-serve.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === "true";
const TARGET_DIR = process.env.CARGO_TARGET_DIR || path.join(REPO_ROOT, "target");
const WAIT = 10_000;

// Under CI a missing browser is a failure, not a skip.
const skip = !HAVE_CHROMIUM && !IN_CI ? `no chromium at ${CHROMIUM} (apt-get install chromium)` : false;

describe("sio serve chat page in chromium", { skip, timeout: 60_000 }, () => {
  let server;
  let browser;
  const pageErrors = [];

  before(async () => {
    assert.ok(HAVE_CHROMIUM, `chromium is required under CI=true: nothing at ${CHROMIUM}`);
    server = await startSioServe();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Root in a container: no user namespace sandbox.
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
      timeout: WAIT,
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page in its own browser profile, with the page's errors recorded. */
  async function openChat(name) {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") pageErrors.push(`${name} console: ${msg.text()}`);
    });
    const client = page.waitForResponse((r) => new URL(r.url()).pathname === "/socket.io/socket.io.js");
    await page.goto(server.url);
    const bundle = await client;
    assert.equal(bundle.status(), 200, "the browser client comes from our server");
    assert.match(bundle.headers()["etag"], /^"4\.\d+\.\d+"$/);
    return page;
  }

  async function join(page, name, room) {
    await page.fill("#name", name);
    await page.fill("#room", room);
    await page.click("#join");
    await page.waitForSelector('#status[data-state="connected"]');
    await page.waitForSelector(`#rooms li[data-room="${room}"][aria-current="true"]`);
  }

  const members = (page) => page.locator("#members li").allTextContents();

  it("two pages join a room, type, exchange messages with delivered ticks, and leave", async () => {
    const alice = await openChat("alice");
    const bob = await openChat("bob");

    await join(alice, "alice", "lobby");
    assert.deepEqual(await members(alice), ["alice (you)"]);
    await join(bob, "bob", "lobby");
    await alice.waitForFunction(() => document.querySelectorAll("#members li").length === 2);
    assert.deepEqual(await members(alice), ["alice (you)", "bob"]);
    assert.deepEqual(await members(bob), ["alice", "bob (you)"]);
    // The page's client upgrades to WebSocket, as the official client does.
    await alice.waitForFunction(() => document.getElementById("status").textContent.includes("websocket"));

    // Typing shows on the other page.
    await bob.type("#text", "hel");
    await alice.waitForFunction(() => document.getElementById("typing").textContent === "bob is typing…");

    // bob sends: alice sees it, and bob's tick becomes "delivered" once
    // alice's page acknowledged it.
    await bob.fill("#text", "hello from bob");
    await bob.press("#text", "Enter");
    const aliceGot = alice.locator(".msg:not(.mine) .text", { hasText: "hello from bob" });
    await aliceGot.waitFor();
    assert.equal(await alice.locator(".msg:not(.mine) .from").first().textContent(), "bob");
    const bobTick = bob.locator(".msg.mine .tick").last();
    await bob.waitForSelector('.msg.mine .tick[data-state="delivered"]');
    assert.equal(await bobTick.textContent(), "✓✓");
    assert.equal(await bobTick.getAttribute("title"), "delivered to 1 member(s)");
    // Sending stopped the typing indicator on alice's page.
    await alice.waitForFunction(() => document.getElementById("typing").textContent === "");

    // alice answers.
    await alice.fill("#text", "hi bob!");
    await alice.click("#send");
    await bob.locator(".msg:not(.mine) .text", { hasText: "hi bob!" }).waitFor();
    await alice.waitForSelector('.msg.mine .tick[data-state="delivered"]');

    // A late joiner sees the room's history, and everybody sees her.
    const carol = await openChat("carol");
    await join(carol, "carol", "lobby");
    assert.deepEqual(await carol.locator(".msg .text").allTextContents(), ["hello from bob", "hi bob!"]);
    assert.equal(await carol.locator(".system").last().textContent(), "you joined lobby");
    await alice.waitForFunction(() => document.querySelectorAll("#members li").length === 3);
    assert.deepEqual(await members(alice), ["alice (you)", "bob", "carol"]);
    await carol.context().close();
    await alice.waitForFunction(() => document.querySelectorAll("#members li").length === 2);

    mkdirSync(TARGET_DIR, { recursive: true });
    await alice.screenshot({ path: path.join(TARGET_DIR, "browser-chat-alice.png") });
    await bob.screenshot({ path: path.join(TARGET_DIR, "browser-chat-bob.png") });

    // bob leaves: alice's member list shrinks back.
    await bob.click('#rooms li[data-room="lobby"] button.leave');
    await alice.waitForFunction(() => document.querySelectorAll("#members li").length === 1);
    assert.deepEqual(await members(alice), ["alice (you)"]);
    assert.equal(await bob.locator("#rooms li").count(), 0);
    assert.equal(await bob.locator("#text").isDisabled(), true, "no room, no sending");

    // A message to an empty room: "delivered" to nobody else, at once.
    await alice.fill("#text", "anyone?");
    await alice.press("#text", "Enter");
    await alice.waitForFunction(
      () =>
        [...document.querySelectorAll(".msg.mine .tick")].pop()?.getAttribute("title") ===
        "delivered to 0 member(s)",
    );

    await server.waitForLog(/"alice" joined "lobby"/);
    await server.waitForLog(/"bob" left "lobby"/);
    assert.deepEqual(pageErrors, [], "no errors in the pages");
  });
});
