// Accounts in a real browser: a citizen registers through the page, is signed in, sees the
// account page with its sessions, signs out from the header; a wrong password is reported in
// the error summary, which takes the focus and links to the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoEnvironment, passwordOf, seriousViolations, shot } from "./lib.mjs";

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
