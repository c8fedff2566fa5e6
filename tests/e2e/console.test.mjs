// The staff console in a real browser: officers sign in through the sign-in page (the
// session cookie and the CSRF token every form carries), then work through the inbox and the
// dossier page. Dossiers come in from the demo's portal client over the API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoEnvironment, samplePdf, scrollsSideways, seriousViolations, shot, signIn, submitWithFiles } from "./lib.mjs";

const env = demoEnvironment();

async function officer(username, width = 1280) {
  const ctx = await env.browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
  return signIn(ctx, env.server, "staff", username);
}

const birth = (name) => ({
  procedure_code: "1.001193",
  receiving_unit: "000.00.31.H99",
  channel: "online",
  applicant: { kind: "person", identity_kind: "citizen", identity_number: "001203004567", name, phone: "0912345678" },
  form_data: { ho_ten_tre: "Bé Na", ngay_sinh: "2026-01-02", gioi_tinh: "Nữ", noi_sinh: "Trạm y tế phường Lạc Sơn", ho_ten_me: name },
});
const PORTAL = "Cổng dịch vụ công tỉnh Lạc Hồng";
const FILES = ["to-khai", "giay-chung-sinh", "cccd"];

async function act(page, action, fill = {}) {
  const form = page.locator(`#form-${action}`);
  for (const [label, value] of Object.entries(fill)) await form.getByLabel(label).fill(value);
  await form.getByRole("button").click();
  await page.waitForLoadState("load");
}

test("an officer accepts, a specialist processes, a leader approves and the desk returns the result", async () => {
  const { code } = await submitWithFiles(env.server, PORTAL, birth("Trần Thị Hạnh"), FILES);
  const desk = await officer("motcua.lacson");
  await desk.goto(env.server.base + "/can-bo");
  assert.deepEqual(await seriousViolations(desk), [], "inbox accessibility");
  await shot(desk, "console-inbox");
  await desk.getByLabel("Mã hồ sơ hoặc tên người nộp").fill("Hạnh");
  await desk.getByRole("button", { name: "Lọc" }).click();
  await desk.waitForFunction((c) => document.querySelector("#danh-sach")?.textContent.includes(c), code);
  await desk.getByRole("link", { name: code }).click();
  await desk.waitForURL(/\/can-bo\/ho-so\//);
  assert.deepEqual(await seriousViolations(desk), [], "dossier page accessibility");
  assert.match(await desk.locator("main").textContent(), /Trần Thị Hạnh/);
  await desk.locator("details summary").first().click();
  await shot(desk, "console-dossier");
  await act(desk, "accept");
  assert.match(await desk.locator(".notice-success").textContent(), /Đã tiếp nhận hồ sơ/);
  await act(desk, "forward");
  const specialist = await officer("chuyenvien.lacson");
  await specialist.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  await act(specialist, "forward", { "Ghi chú (không bắt buộc)": "Đủ điều kiện" });
  const leader = await officer("lanhdao.lacson");
  await leader.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  await act(leader, "approve");
  await desk.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  await act(desk, "record_result");
  await act(desk, "return_result");
  const text = await desk.locator("main").textContent();
  assert.match(text, /Đã trả kết quả/);
  assert.match(text, /Đủ điều kiện/);
  assert.match(text, /Trước hạn|Đúng hạn/, "the control sheet judges each step");
  await shot(desk, "console-returned");
  // The citizen's public lookup follows along.
  const pub = await env.browser.newPage();
  await pub.goto(`${env.server.base}/tra-cuu?ma=${code}`);
  assert.match(await pub.locator("main").textContent(), /Đã trả kết quả/);
});

test("a refusal needs its reason, and a supplement round trip pauses and resumes the clock", async () => {
  const refused = await submitWithFiles(env.server, PORTAL, birth("Lê Văn Từ"), FILES);
  const desk = await officer("motcua.lacson");
  await desk.goto(`${env.server.base}/can-bo/ho-so/${refused.code}`);
  await act(desk, "refuse");
  assert.equal(await desk.locator(".error-summary").count(), 1, "the missing reason is reported");
  assert.equal(await desk.evaluate(() => document.activeElement?.classList.contains("error-summary")), true);
  await desk.locator(".error-summary a").click();
  assert.equal(await desk.evaluate(() => document.activeElement?.id), "refuse-reason", "the summary links to the field");
  await desk.keyboard.type("Hồ sơ không thuộc thẩm quyền của phường");
  await desk.locator("#form-refuse").getByRole("button").click();
  await desk.waitForLoadState("load");
  assert.match(await desk.locator("main").textContent(), /Không được tiếp nhận|không được tiếp nhận/);

  const { code } = await submitWithFiles(env.server, PORTAL, birth("Phạm Thị Bổ Sung"), FILES);
  await desk.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  await act(desk, "accept");
  await act(desk, "forward");
  const specialist = await officer("chuyenvien.lacson");
  await specialist.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  await act(specialist, "request_supplement", { "Lý do": "Bổ sung bản sao giấy chứng sinh có chứng thực" });
  assert.match(await specialist.locator("main").textContent(), /Đang tạm dừng tính thời hạn/);
  await desk.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  await act(desk, "supply_supplement");
  assert.match(await desk.locator(".notice-success").textContent(), /thời hạn tiếp tục/);
});

test("a desk officer takes a walk-in dossier at the counter, gets its code and the receipt PDF", async () => {
  const desk = await officer("motcua.lacson");
  await desk.goto(env.server.base + "/can-bo");
  await desk.getByRole("navigation", { name: "Điều hướng chính" }).getByRole("link", { name: "Tiếp nhận hồ sơ" }).click();
  await desk.waitForURL(/\/can-bo\/tiep-nhan$/);
  await desk.getByLabel("Tên hoặc mã thủ tục").fill("dang ky khai sinh");
  await desk.getByRole("button", { name: "Tìm thủ tục" }).click();
  await desk.getByRole("link", { name: "Đăng ký khai sinh", exact: true }).click();
  await desk.waitForURL(/\/can-bo\/tiep-nhan\/1\.001193$/);
  assert.deepEqual(await seriousViolations(desk), [], "intake form accessibility");
  await shot(desk, "console-intake");

  // Sent with the applicant only: every missing answer and document is reported, the rest kept.
  await desk.getByLabel("Họ và tên / tên tổ chức").fill("Đỗ Văn Quầy");
  await desk.getByLabel("Số giấy tờ định danh").fill("001203009999");
  await desk.getByRole("button", { name: "Tiếp nhận hồ sơ" }).click();
  await desk.locator(".error-summary").waitFor();
  assert.ok((await desk.locator(".error-summary li").count()) >= 5, "answers and documents");
  assert.ok((await desk.locator(".field-error .error-message").count()) >= 5, "beside the fields");
  assert.equal(await desk.getByLabel("Họ và tên / tên tổ chức").inputValue(), "Đỗ Văn Quầy");
  assert.deepEqual(await seriousViolations(desk), [], "intake form with errors accessibility");
  await shot(desk, "console-intake-errors");

  await desk.getByLabel("Số điện thoại (không bắt buộc)").fill("0912 000 111");
  await desk.getByLabel("Họ, chữ đệm và tên của trẻ").fill("Đỗ Minh Quân");
  await desk.getByLabel("Ngày, tháng, năm sinh").fill("2026-10-05");
  await desk.getByLabel("Nam", { exact: true }).check();
  await desk.getByLabel("Nơi sinh").fill("Bệnh viện đa khoa tỉnh Lạc Hồng");
  await desk.getByLabel("Họ, chữ đệm và tên người mẹ").fill("Vũ Thị Mai");
  for (const c of ["to-khai", "giay-chung-sinh", "cccd"]) {
    const file = join(env.server.dir, `quay-${c}.pdf`);
    writeFileSync(file, samplePdf(c));
    await desk.locator(`#tep-${c}`).setInputFiles(file);
  }
  await desk.getByLabel(/Ghi chú của cán bộ tiếp nhận/).fill("Đã đối chiếu bản chính CCCD");
  await desk.getByRole("button", { name: "Tiếp nhận hồ sơ" }).click();
  await desk.waitForURL(/\/bien-nhan$/);
  const code = (await desk.locator("#ma-ho-so").textContent()).trim();
  assert.match(code, /^000\.00\.31\.H99-\d{6}-\d{4,5}$/);
  const text = await desk.locator("main").textContent();
  assert.match(text, /Đã tiếp nhận hồ sơ/);
  assert.match(text, /Hẹn trả kết quả/);
  assert.match(text, /quay-giay-chung-sinh\.pdf/);
  assert.deepEqual(await seriousViolations(desk), [], "receipt page accessibility");
  await shot(desk, "console-intake-receipt");

  // The receipt (Mẫu 01) as PDF, with the officer's session.
  const href = await desk.getByRole("link", { name: "In giấy tiếp nhận" }).getAttribute("href");
  const pdf = await desk.request.get(env.server.base + href);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
  assert.equal((await pdf.body()).subarray(0, 5).toString(), "%PDF-");

  // Accepted at once: the dossier is in the process, with the note in its history.
  await desk.getByRole("link", { name: `Mở hồ sơ ${code}` }).click();
  await desk.waitForURL(new RegExp(`/can-bo/ho-so/${code.replace(/\./g, "\\.")}$`));
  const dossier = await desk.locator("main").textContent();
  assert.match(dossier, /Trực tiếp tại quầy/);
  assert.match(dossier, /Đã đối chiếu bản chính CCCD/);
});

test("the console at 360 px and with the keyboard", async () => {
  const page = await officer("motcua.lacson", 360);
  await page.goto(env.server.base + "/can-bo");
  assert.equal(await scrollsSideways(page), false, "inbox at 360 px");
  await shot(page, "console-inbox-360");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "q", "'/' jumps to the search");
});

test("the unit's dashboard shows the month's figures and charts, and reads at 360 px", async () => {
  const { code } = await submitWithFiles(env.server, PORTAL, birth("Đỗ Thị Thống Kê"), FILES);
  const desk = await officer("motcua.lacson");
  await desk.goto(env.server.base + "/can-bo");
  await desk.getByRole("link", { name: "Thống kê" }).click();
  await desk.waitForURL(/\/can-bo\/thong-ke/);
  assert.deepEqual(await seriousViolations(desk), [], "dashboard accessibility");
  const text = await desk.locator("main").textContent();
  assert.match(text, /Tổng số hồ sơ/);
  assert.match(text, /Đăng ký khai sinh/, `the procedure of ${code} is in the table`);
  assert.equal(await desk.locator("svg.chart rect").count() > 0, true, "bars are drawn");
  await shot(desk, "console-dashboard");
  // Another period through the form, then a shortcut back.
  await desk.getByLabel("Từ ngày").fill("2026-01-01");
  await desk.getByRole("button", { name: "Xem thống kê" }).click();
  await desk.waitForURL(/tu=2026-01-01/);
  assert.match(await desk.locator(".lead").textContent(), /01\/01\/2026/);
  await desk.getByRole("link", { name: "Tháng này" }).click();
  await desk.waitForLoadState("load");
  const narrow = await officer("motcua.lacson", 360);
  await narrow.goto(env.server.base + "/can-bo/thong-ke");
  assert.equal(await scrollsSideways(narrow), false, "dashboard at 360 px");
  await shot(narrow, "console-dashboard-360");
});
