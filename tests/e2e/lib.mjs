// Shared helpers of the browser tests: start `cqs demo` on a free port with a throw-away data
// directory, launch Debian's Chromium through playwright-core, run axe-core on a page, save
// screenshots under target/e2e/.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { Secret, TOTP } from "otpauth";

const require = createRequire(import.meta.url);
export const ROOT = resolve(import.meta.dirname, "../..");
export const SHOTS = join(ROOT, "target", "e2e");
mkdirSync(SHOTS, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Starts the demo province; returns { base, dir, credentials, stop }. */
export async function startServer() {
  const bin = process.env.CQS_BIN || join(ROOT, "target", "debug", "cqs");
  const dir = mkdtempSync(join(tmpdir(), "cqs-e2e-"));
  const port = await freePort();
  const child = spawn(bin, ["--data-dir", dir, "--listen", `127.0.0.1:${port}`, "demo"], {
    env: { ...process.env, CQS_LOG: "warn", CQS_SWEEP_INTERVAL_SECS: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cqs exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() - started > 60_000) throw new Error("cqs did not become ready");
    await new Promise((r) => setTimeout(r, 150));
  }
  const credentials = Object.fromEntries(
    readFileSync(join(dir, "demo-credentials.txt"), "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split("\t")),
  );
  return {
    base,
    dir,
    credentials,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One demo server and one browser for the tests of a file: started before the first test,
 * stopped after the last. Read `env.server` and `env.browser` inside the tests.
 */
export function demoEnvironment() {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core (WCAG 2.0–2.2 A and AA rules) and returns the serious and critical violations. */
export async function seriousViolations(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }),
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Whether the page scrolls sideways at its current width. */
export async function scrollsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

/** The demo password of a staff member (by username) or a citizen (by identity number). */
export function passwordOf(server, kind, login) {
  const entry = Object.entries(server.credentials).find(([name]) =>
    kind === "staff" ? name === `Cán bộ ${login}` : name.startsWith(`Công dân ${login} `),
  );
  if (!entry) throw new Error(`no demo password for ${kind} ${login}`);
  return entry[1];
}

/**
 * The authenticator app of each staff member who enrolled during the tests: the secret it was
 * given, the last 30-second step a code was used in (each step is accepted once), and the
 * recovery codes, used when a second sign-in comes within the same step.
 */
function authenticator(server, login) {
  server.mfa ??= {};
  return server.mfa[login];
}

function remember(server, login, secret) {
  server.mfa ??= {};
  server.mfa[login] = { secret: secret.replace(/\s+/g, ""), lastStep: -1, recovery: [] };
}

/** The next code the officer's app gives: a fresh TOTP, or a recovery code within a used step. */
export function nextCode(server, login) {
  const app = authenticator(server, login);
  if (!app) throw new Error(`${login} has no authenticator`);
  const step = Math.floor(Date.now() / 30000);
  if (step > app.lastStep) {
    app.lastStep = step;
    const totp = new TOTP({ secret: Secret.fromBase32(app.secret), algorithm: "SHA1", digits: 6, period: 30 });
    return totp.generate();
  }
  const code = app.recovery.shift();
  if (!code) throw new Error(`${login} has used every recovery code`);
  return code;
}

/**
 * Signs in through the sign-in page like a person: types the login and the password and
 * presses the button; staff whose role requires a second step set up the authenticator on
 * first sign-in and type its code afterwards. Returns a page of the context, now carrying the
 * session cookie.
 */
export async function signIn(context, server, kind, login) {
  const page = await context.newPage();
  const path = kind === "staff" ? "/can-bo/dang-nhap" : "/dang-nhap";
  await page.goto(server.base + path);
  const label = kind === "staff" ? "Tên đăng nhập" : "Số định danh cá nhân, số điện thoại hoặc thư điện tử";
  await page.getByLabel(label).fill(login);
  await page.getByLabel("Mật khẩu", { exact: true }).fill(passwordOf(server, kind, login));
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.waitForURL((u) => !u.pathname.endsWith("dang-nhap"));
  if (new URL(page.url()).pathname.endsWith("/buoc-hai")) await secondStep(page, server, login);
  return page;
}

async function secondStep(page, server, login) {
  if ((await page.locator("#secret").count()) > 0) {
    remember(server, login, await page.locator("#secret").textContent());
    await page.getByLabel("Mã từ ứng dụng xác thực").fill(nextCode(server, login));
    await page.getByRole("button", { name: "Xác nhận và đăng nhập" }).click();
    await page.locator(".recovery-codes").waitFor();
    authenticator(server, login).recovery = await page.locator(".recovery-codes .code").allTextContents();
    await page.getByRole("link", { name: "Tôi đã cất giữ mã, tiếp tục" }).click();
  } else {
    await page.getByLabel("Mã xác thực hoặc mã dự phòng").fill(nextCode(server, login));
    await page.getByRole("button", { name: "Đăng nhập" }).click();
  }
  await page.waitForURL((u) => !u.pathname.includes("dang-nhap"));
}

/**
 * Signs a staff member in through the JSON API from inside `page` (so the cookie lands in its
 * browser), giving the second step when asked. Returns the final { status, body }.
 */
export async function apiSignIn(page, server, login) {
  const call = (path, body) =>
    page.evaluate(
      async ([path, body]) => {
        const r = await fetch(path, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: body === null ? undefined : JSON.stringify(body),
        });
        return { status: r.status, body: await r.json() };
      },
      [path, body],
    );
  const first = await call("/api/v1/auth/sign-in", { kind: "staff", login, password: passwordOf(server, "staff", login) });
  if (first.status !== 202) return first;
  if (first.body.next === "mfa_enrolment") {
    const e = await call("/api/v1/auth/mfa/enrolment", null);
    if (e.status !== 200) return e;
    remember(server, login, e.body.secret);
  }
  const done = await call("/api/v1/auth/mfa", { code: nextCode(server, login) });
  if (done.body.recovery_codes) authenticator(server, login).recovery = done.body.recovery_codes;
  return done;
}

/** Calls the JSON API with a demo key. */
export async function api(server, method, path, keyName, body) {
  const r = await fetch(server.base + path, {
    method,
    headers: {
      authorization: `Bearer ${server.credentials[keyName]}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A tiny but well-formed one-page PDF, to upload as a component. */
export function samplePdf(title = "cqs") {
  const body = `%PDF-1.4
1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj
2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj
3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>> endobj
4 0 obj <</Length 44>> stream
BT /F1 12 Tf 20 50 Td (${title.replace(/[^A-Za-z0-9 ]/g, "")}) Tj ET
endstream endobj
5 0 obj <</Type/Font/Subtype/Type1/BaseFont/Helvetica>> endobj
trailer <</Root 1 0 R>>
%%EOF
`;
  return Buffer.from(body, "latin1");
}

/** Submits a dossier through the API as a machine client, with one PDF per named component. */
export async function submitWithFiles(server, keyName, dossier, components) {
  const form = new FormData();
  form.append("dossier", JSON.stringify(dossier));
  for (const c of components) form.append(c, new Blob([samplePdf(c)], { type: "application/pdf" }), `${c}.pdf`);
  const r = await fetch(server.base + "/api/v1/dossiers", {
    method: "POST",
    headers: { authorization: `Bearer ${server.credentials[keyName]}` },
    body: form,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`submit: ${r.status} ${text}`);
  return JSON.parse(text);
}
