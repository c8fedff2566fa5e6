// Accounts in a real browser: a citizen registers through the page, is signed in, sees the
// account page with its sessions, signs out from the header; a wrong password is reported in
// the error summary, which takes the focus and links to the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoEnvironment, passwordOf, seriousViolations, shot, signIn } from "./lib.mjs";

const env = demoEnvironment();

test("a citizen registers, sees their sessions and signs out", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(env.server.base + "/dang-ky");
  assert.deepEqual(await seriousViolations(page), [], "registration page accessibility");
  await page.getByLabel("Số định danh cá nhân").fill("036201009876");
  await page.getByLabel("Họ và tên").fill("Đỗ Thị Mai");
  await page.getByLabel("Số điện thoại di động").fill("0983000111");
  await page.getByLabel("Mật khẩu", { exact: true }).fill("Hoa sen nở giữa hè");
  await page.getByLabel("Nhập lại mật khẩu").fill("Hoa sen nở giữa hè");
  await page.getByRole("button", { name: "Đăng ký" }).click();
  await page.waitForURL(/\/tai-khoan/);
  assert.match(await page.locator(".viewer").textContent(), /Đỗ Thị Mai/);
  await page.goto(env.server.base + "/tai-khoan");
  assert.match(await page.locator("main").textContent(), /Phiên này/);
  assert.deepEqual(await seriousViolations(page), [], "account page accessibility");
  await shot(page, "account");
  await page.getByRole("button", { name: "Đăng xuất", exact: true }).first().click();
  await page.waitForURL(/da-dang-xuat/);
  assert.match(await page.locator("h1").textContent(), /Bạn đã đăng xuất/);
  assert.equal(await page.locator(".viewer").count(), 0);
  await ctx.close();
});

test("a wrong password is reported in the summary, which links to the field", async () => {
  const ctx = await env.browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(env.server.base + "/can-bo/dang-nhap");
  assert.deepEqual(await seriousViolations(page), [], "sign-in page accessibility");
  await page.getByLabel("Tên đăng nhập").fill("motcua.lacson");
  await page.getByLabel("Mật khẩu").fill("không phải mật khẩu");
  await page.keyboard.press("Enter");
  await page.locator(".error-summary").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("error-summary")), true);
  await page.locator(".error-summary a").first().click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "login");
  await page.getByLabel("Mật khẩu").fill(passwordOf(env.server, "staff", "motcua.lacson"));
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.waitForURL(/\/can-bo(#.*)?$/);
  assert.match(await page.locator(".viewer").textContent(), /Nguyễn Thị Hoa/);
  await ctx.close();
});

test("a leader sets up two-step sign-in at the first sign-in, then signs in with a code", async () => {
  const ctx = await env.browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(env.server.base + "/can-bo/dang-nhap");
  await page.getByLabel("Tên đăng nhập").fill("lanhdao.lacson");
  await page.getByLabel("Mật khẩu").fill(passwordOf(env.server, "staff", "lanhdao.lacson"));
  await page.getByRole("button", { name: "Đăng nhập" }).click();
  await page.waitForURL(/\/can-bo\/dang-nhap\/buoc-hai/);
  assert.equal(await page.locator("img.qr").count(), 1, "the QR code to scan");
  assert.deepEqual(await seriousViolations(page), [], "enrolment page accessibility");
  await shot(page, "mfa-enrolment");
  // A wrong code is reported beside the field.
  await page.getByLabel("Mã từ ứng dụng xác thực").fill("000000");
  await page.getByRole("button", { name: "Xác nhận và đăng nhập" }).click();
  await page.locator(".error-summary").waitFor();
  await ctx.close();
  // The page helper scans the QR secret, gives the first code and keeps the recovery codes.
  const again = await env.browser.newContext({ bypassCSP: true });
  const signedIn = await signIn(again, env.server, "staff", "lanhdao.lacson");
  assert.match(await signedIn.locator(".viewer").textContent(), /./);
  await signedIn.goto(env.server.base + "/tai-khoan/xac-thuc-hai-buoc");
  assert.match(await signedIn.locator("main").textContent(), /Đang bật/);
  assert.deepEqual(await seriousViolations(signedIn), [], "two-step settings accessibility");
  await again.close();
  // The next sign-in asks for a code (or, within the same 30 seconds, takes a recovery code).
  const third = await env.browser.newContext({ bypassCSP: true });
  const p3 = await signIn(third, env.server, "staff", "lanhdao.lacson");
  assert.match(p3.url(), /\/can-bo/);
  await third.close();
});
