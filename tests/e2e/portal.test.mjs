// The public portal in a real browser: search without diacritics, the procedure page, agencies,
// the public lookup, problem pages; accessibility, keyboard use, 360 px layout and page weight.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoEnvironment, scrollsSideways, seriousViolations, shot, submitWithFiles } from "./lib.mjs";

const env = demoEnvironment();

async function newPage(width = 1280) {
  const ctx = await env.browser.newContext({ viewport: { width, height: 900 }, locale: "vi-VN", bypassCSP: true });
  return ctx.newPage();
}

test("a citizen finds “Đăng ký kết hôn” by typing without diacritics", async () => {
  const page = await newPage();
  await page.goto(env.server.base + "/");
  assert.deepEqual(await seriousViolations(page), [], "home page accessibility");
  await shot(page, "home");
  await page.getByLabel("Tìm thủ tục hành chính").fill("dang ky ket hon");
  await page.getByRole("button", { name: "Tìm kiếm" }).click();
  await page.waitForURL(/\/thu-tuc\?q=dang/);
  const first = page.locator(".procedure-list .procedure-name").first();
  assert.equal(await first.textContent(), "Đăng ký kết hôn");
  assert.deepEqual(await seriousViolations(page), [], "search page accessibility");
  await shot(page, "search");
  // The search also updates as one types (htmx), without leaving the page.
  await page.getByLabel("Tên thủ tục").fill("khai sinh");
  await page.waitForFunction(() => document.querySelector(".result-count")?.textContent.includes("khai sinh"));
  assert.match(await page.locator(".procedure-list").textContent(), /Đăng ký khai sinh/);
  assert.match(page.url(), /q=khai\+sinh|q=khai%20sinh/, "the address follows the search");
  await first.click();
  await page.waitForURL(/\/thu-tuc\/\d/);
  assert.deepEqual(await seriousViolations(page), [], "procedure page accessibility");
});

test("the procedure page says who, what papers, fees, time, where and the legal basis", async () => {
  const page = await newPage();
  await page.goto(env.server.base + "/thu-tuc/1.001193");
  assert.equal(await page.locator("h1").textContent(), "Đăng ký khai sinh");
  for (const h of ["Đối tượng thực hiện", "Thành phần hồ sơ", "Phí, lệ phí", "Nơi tiếp nhận hồ sơ", "Cách nhận kết quả", "Căn cứ pháp lý"]) {
    assert.equal(await page.getByRole("heading", { name: h }).count(), 1, h);
  }
  assert.match(await page.locator(".key-facts").textContent(), /1 ngày làm việc/);
  assert.match(await page.locator("main").textContent(), /8\.000 đ/, "money is written 8.000 đ");
  assert.equal(await page.getByRole("button", { name: /Nộp hồ sơ trực tuyến/ }).count(), 1);
  await shot(page, "procedure");
});

test("browsing by field and by agency", async () => {
  const page = await newPage();
  await page.goto(env.server.base + "/");
  await page.getByRole("link", { name: "Hộ tịch" }).click();
  assert.match(await page.locator(".result-count").textContent(), /lĩnh vực Hộ tịch/);
  await page.goto(env.server.base + "/co-quan");
  assert.deepEqual(await seriousViolations(page), [], "agencies page accessibility");
  await page.getByRole("link", { name: "Sở Xây dựng" }).click();
  assert.match(await page.locator(".result-count").textContent(), /Sở Xây dựng/);
  assert.ok((await page.locator(".procedure-list li").count()) > 0);
});

test("public lookup shows status and history in plain words, and no personal data", async () => {
  const receipt = await submitWithFiles(env.server, "Cổng dịch vụ công tỉnh Lạc Hồng", {
    procedure_code: "1.001193",
    receiving_unit: "000.00.31.H99",
    channel: "post",
    applicant: { kind: "person", identity_kind: "citizen", identity_number: "001203004567", name: "Nguyễn Thị Tra Cứu", phone: "0912345678" },
    form_data: { ho_ten_tre: "Nguyễn Bé Na", ngay_sinh: "2026-01-02", gioi_tinh: "Nữ", noi_sinh: "Trạm y tế phường Lạc Sơn", ho_ten_me: "Nguyễn Thị Tra Cứu" },
  }, ["to-khai", "giay-chung-sinh", "cccd"]);
  const page = await newPage();
  await page.goto(env.server.base + "/tra-cuu");
  await page.getByLabel("Mã hồ sơ").fill("khong-phai-ma");
  await page.getByRole("button", { name: "Tra cứu" }).click();
  assert.equal(await page.locator(".error-summary").count(), 1, "a bad code gets an error summary");
  assert.equal(await page.locator("#ma-error").count(), 1, "and a message beside the field");
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("error-summary")), true, "focus moves to the summary");
  assert.deepEqual(await seriousViolations(page), [], "lookup page with errors");
  await page.getByLabel("Mã hồ sơ").fill(receipt.code.toLowerCase());
  await page.getByRole("button", { name: "Tra cứu" }).click();
  const text = await page.locator("main").textContent();
  assert.match(text, /Mới đăng ký|Được tiếp nhận|tiếp nhận/i);
  assert.match(text, /Hồ sơ được nộp/);
  assert.match(text, /Đăng ký khai sinh/);
  assert.doesNotMatch(text, /Tra Cứu|001203004567|0912345678|Bé Na/, "no personal data on the public page");
  assert.match(text, /\d{2}\/\d{2}\/\d{4}/, "dates are dd/mm/yyyy");
  assert.deepEqual(await seriousViolations(page), [], "lookup page with a result");
  await shot(page, "lookup");
});

test("problem pages are HTML in Vietnamese", async () => {
  const page = await newPage();
  const r = await page.goto(env.server.base + "/khong-co-trang-nay");
  assert.equal(r.status(), 404);
  assert.equal(await page.locator("h1").textContent(), "Không tìm thấy trang");
  const api404 = await fetch(env.server.base + "/api/v1/khong-co");
  assert.equal(api404.headers.get("content-type"), "application/problem+json", "the API keeps problem+json");
});

test("keyboard: the skip link comes first and leads to the main content", async () => {
  const page = await newPage();
  await page.goto(env.server.base + "/thu-tuc");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Bỏ qua, đến nội dung chính");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => location.hash), "#noi-dung");
  // Filters are reachable and usable with the keyboard alone.
  await page.getByLabel("Tên thủ tục").focus();
  await page.keyboard.type("chung thuc");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector(".result-count")?.textContent.includes("chung thuc"));
  assert.match(await page.locator(".procedure-list").textContent(), /Chứng thực/);
});

test("at 360 px wide no page scrolls sideways", async () => {
  const page = await newPage(360);
  for (const path of ["/", "/thu-tuc", "/thu-tuc/1.001193", "/co-quan", "/tra-cuu"]) {
    await page.goto(env.server.base + path);
    assert.equal(await scrollsSideways(page), false, path);
  }
  await page.goto(env.server.base + "/thu-tuc/1.001193");
  await shot(page, "procedure-360");
  await page.goto(env.server.base + "/");
  await shot(page, "home-360");
});

test("page weight: under 150 KB on first load and under 30 KB after", async () => {
  for (const path of ["/", "/thu-tuc?q=dang+ky", "/thu-tuc/1.001193", "/tra-cuu"]) {
    const ctx = await env.browser.newContext();
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Network.enable");
    let bytes = 0;
    cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; });
    await page.goto(env.server.base + path, { waitUntil: "networkidle" });
    const first = bytes;
    bytes = 0;
    await page.goto(env.server.base + path, { waitUntil: "networkidle" });
    const again = bytes;
    console.log(`weight ${path}: first ${(first / 1024).toFixed(1)} KB, again ${(again / 1024).toFixed(1)} KB`);
    assert.ok(first < 150 * 1024, `${path} first load ${first} bytes`);
    assert.ok(again < 30 * 1024, `${path} repeat load ${again} bytes`);
    await ctx.close();
  }
});
