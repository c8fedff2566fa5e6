// Online submission in a real browser: from the procedure page's "Nộp hồ sơ trực tuyến" through
// the e-form pages (errors beside the fields and in the summary), the documents with upload
// progress, check-your-answers and the confirmation with its code and QR code; and the same
// journey without JavaScript, stopped half-way and resumed from "Hồ sơ của tôi".
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoEnvironment, samplePdf, scrollsSideways, seriousViolations, shot, signIn } from "./lib.mjs";

const env = demoEnvironment();
const KHOA = "036095001234";
const THANG = "036087005678";

function pdfFile(name) {
  const path = join(env.server.dir, name);
  writeFileSync(path, samplePdf(name));
  return path;
}

async function unitAndForm(page, { check = false } = {}) {
  await page.getByLabel("Nơi nộp hồ sơ").selectOption({ label: "Ủy ban nhân dân phường Lạc Sơn" });
  await page.getByRole("button", { name: "Lưu và tiếp tục" }).click();
  await page.waitForURL(/buoc=to-khai-1/);
  if (check) assert.deepEqual(await seriousViolations(page), [], "form page accessibility");
  // An empty page: each required question is reported, in the summary and beside the field.
  await page.getByRole("button", { name: "Lưu và tiếp tục" }).click();
  await page.locator(".error-summary").waitFor();
  assert.ok((await page.locator(".error-summary li").count()) >= 3, "every missing answer");
  assert.ok((await page.locator(".field-error .error-message").count()) >= 3, "beside the fields");
  if (check) {
    assert.deepEqual(await seriousViolations(page), [], "form page with errors accessibility");
    await shot(page, "submit-form-errors");
  }
  await page.getByLabel("Họ, chữ đệm và tên của trẻ").fill("Trần Bảo An");
  await page.getByLabel("Ngày, tháng, năm sinh").fill("2026-10-02");
  await page.getByLabel("Nữ", { exact: true }).check();
  await page.getByLabel("Nơi sinh").fill("Trạm y tế phường Lạc Sơn");
  await page.getByRole("button", { name: "Lưu và tiếp tục" }).click();
  await page.waitForURL(/buoc=to-khai-2/);
}

test("a citizen submits online from the procedure page and gets the code, due date and QR code", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await signIn(ctx, env.server, "citizen", KHOA);
  await page.goto(env.server.base + "/thu-tuc/1.001193");
  await page.getByRole("button", { name: /Nộp hồ sơ trực tuyến/ }).click();
  await page.waitForURL(/\/nop-ho-so\/1\.001193/);
  assert.match(await page.locator("main").textContent(), /Trần Minh Khoa/);
  assert.deepEqual(await seriousViolations(page), [], "first step accessibility");
  await unitAndForm(page, { check: true });
  await page.getByLabel("Họ, chữ đệm và tên người mẹ").fill("Lê Thu Trang");
  await page.getByRole("button", { name: "Lưu và tiếp tục" }).click();
  await page.waitForURL(/buoc=giay-to/);
  assert.deepEqual(await seriousViolations(page), [], "documents page accessibility");
  assert.equal(await scrollsSideways(page), false, "documents page at 390 px");
  for (const c of ["to-khai", "giay-chung-sinh", "cccd"]) await page.locator(`#tep-${c}`).setInputFiles(pdfFile(`${c}.pdf`));
  await page.getByRole("button", { name: "Tải lên và tiếp tục" }).click();
  await page.waitForURL(/buoc=kiem-tra/);
  const check = await page.locator("main").textContent();
  for (const s of ["Trần Bảo An", "02/10/2026", "Lê Thu Trang", "giay-chung-sinh.pdf", "Ủy ban nhân dân phường Lạc Sơn"]) {
    assert.ok(check.includes(s), `check page shows ${s}`);
  }
  assert.deepEqual(await seriousViolations(page), [], "check page accessibility");
  await shot(page, "submit-check");
  await page.getByLabel(/Tôi cam đoan/).check();
  await page.getByRole("button", { name: "Nộp hồ sơ", exact: true }).click();
  await page.waitForURL(/\/da-nop$/);
  const code = (await page.locator(".panel-confirm .code").textContent()).trim();
  assert.match(code, /^000\.00\.31\.H99-\d{6}-\d{4,5}$/);
  assert.match(await page.locator("main").textContent(), /Hẹn trả kết quả/);
  assert.equal(await page.locator("img.qr").count(), 1);
  assert.deepEqual(await seriousViolations(page), [], "confirmation accessibility");
  await shot(page, "submit-confirmation");
  await page.getByRole("link", { name: `Mở trang tra cứu hồ sơ ${code}` }).click();
  assert.match(await page.locator("main").textContent(), /Mới đăng ký|Chờ tiếp nhận|đăng ký/i);
  await ctx.close();
});

test("without JavaScript a citizen stops half-way, comes back from Hồ sơ của tôi and submits", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 360, height: 800 }, javaScriptEnabled: false });
  const page = await signIn(ctx, env.server, "citizen", THANG);
  await page.goto(env.server.base + "/nop-ho-so/1.001193");
  await unitAndForm(page);
  await page.getByRole("button", { name: "Lưu nháp, làm tiếp sau" }).click();
  await page.waitForURL(/da-luu-nhap/);
  assert.match(await page.locator(".notice-success").textContent(), /Đã lưu bản nháp/);
  await page.getByRole("link", { name: /Tiếp tục: Đăng ký khai sinh/ }).click();
  assert.match(await page.locator("main").textContent(), /Bạn đang tiếp tục bản nháp/);
  await page.goto(env.server.base + "/nop-ho-so/1.001193?buoc=to-khai-2");
  await page.getByLabel("Họ, chữ đệm và tên người mẹ").fill("Nguyễn Thị Lan");
  await page.getByRole("button", { name: "Lưu và tiếp tục" }).click();
  await page.waitForURL(/buoc=giay-to/);
  // Missing required documents are reported.
  await page.getByRole("button", { name: "Tải lên và tiếp tục" }).click();
  await page.locator(".error-summary").waitFor();
  for (const c of ["to-khai", "giay-chung-sinh", "cccd"]) await page.locator(`#tep-${c}`).setInputFiles(pdfFile(`${c}-2.pdf`));
  await page.getByRole("button", { name: "Tải lên và tiếp tục" }).click();
  await page.waitForURL(/buoc=kiem-tra/);
  assert.equal(await scrollsSideways(page), false, "check page at 360 px");
  await page.getByLabel(/Tôi cam đoan/).check();
  await page.getByRole("button", { name: "Nộp hồ sơ", exact: true }).click();
  await page.waitForURL(/\/da-nop$/);
  const code = (await page.locator(".panel-confirm .code").textContent()).trim();
  await page.goto(env.server.base + "/ho-so-cua-toi");
  assert.match(await page.locator("main").textContent(), new RegExp(code.replace(/\./g, "\\.")));
  assert.doesNotMatch(await page.locator("main").textContent(), /Hồ sơ đang soạn/);
  await ctx.close();
});
