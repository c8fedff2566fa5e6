// The administration pages in a real browser: the demo administrator (quantri) signs in with
// the second step, imports a catalog file with an error (the row report, nothing written),
// then a clean one, publishes the draft, creates a staff account and changes its roles, edits
// an org unit and reads the working calendar; then runs the data-sharing registry (members,
// systems, a service, a secret, an access request answered). Every page is checked with axe-core.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoEnvironment, ROOT, scrollsSideways, seriousViolations, shot, signIn, SHOTS } from "./lib.mjs";

const env = demoEnvironment();

async function admin(width = 1280) {
  const ctx = await env.browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
  return signIn(ctx, env.server, "staff", "quantri");
}

// The demo catalog in the import format, as `cqs import template` writes it, changed by `edit`.
function catalogFile(name, edit) {
  const dir = mkdtempSync(join(tmpdir(), "cqs-e2e-template-"));
  const file = join(dir, "mau.csv");
  execFileSync(process.env.CQS_BIN || join(ROOT, "target", "debug", "cqs"), ["--data-dir", dir, "import", "template", file], {
    env: { ...process.env, CQS_LOG: "warn" },
  });
  const text = readFileSync(file, "utf8");
  const edited = edit(text);
  assert.notEqual(edited, text, "the edit changed the file");
  const path = join(SHOTS, name);
  writeFileSync(path, edited);
  rmSync(dir, { recursive: true, force: true });
  return path;
}

test("only the administrator sees Quản trị; an officer is refused", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const desk = await signIn(ctx, env.server, "staff", "motcua.lacson");
  assert.equal(await desk.getByRole("link", { name: "Quản trị" }).count(), 0);
  const r = await desk.goto(env.server.base + "/can-bo/quan-tri");
  assert.equal(r.status(), 403);
});

test("the administrator imports, publishes, manages staff and units and reads the calendar", async () => {
  const page = await admin();
  await page.getByRole("link", { name: "Quản trị" }).click();
  await page.waitForURL(/\/can-bo\/quan-tri$/);
  assert.deepEqual(await seriousViolations(page), [], "admin home accessibility");
  await shot(page, "admin-home");

  // A file with an error in one row: the report, nothing written.
  await page.getByRole("link", { name: "Thủ tục hành chính" }).first().click();
  await page.waitForURL(/\/thu-tuc$/);
  // The birth registration's code made malformed in its row.
  const bad = catalogFile("admin-bad.csv", (t) => t.replace("1.001193", "1.00119X"));
  await page.getByLabel("Tệp danh mục thủ tục").setInputFiles(bad);
  await page.getByRole("button", { name: "Kiểm tra và nhập" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".error-summary").textContent(), /Không nhập thủ tục nào/);
  assert.ok((await page.locator("table").first().locator("tbody tr").count()) > 0, "the row report");
  assert.deepEqual(await seriousViolations(page), [], "import report accessibility");
  await shot(page, "admin-import-errors");

  assert.match(await page.locator("table").first().textContent(), /code/, "the column is named");
  // A clean file: the demo catalog with the birth registration renamed, a new draft version.
  const good = catalogFile("admin-good.csv", (t) => t.replace("Đăng ký khai sinh", "Đăng ký khai sinh (thử nghiệm)"));
  await page.getByLabel("Tệp danh mục thủ tục").setInputFiles(good);
  await page.getByRole("button", { name: "Kiểm tra và nhập" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".notice").first().textContent(), /1 phiên bản nháp mới/);
  await page.getByRole("button", { name: /^Công bố 1\.001193/ }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".notice").first().textContent(), /Đã công bố 1\.001193/);
  await shot(page, "admin-procedures");

  // A new staff account, then its roles.
  await page.goto(env.server.base + "/can-bo/quan-tri/can-bo");
  assert.deepEqual(await seriousViolations(page), [], "staff list accessibility");
  await page.getByLabel("Tên đăng nhập").fill("nguyen.van.moi");
  await page.getByLabel("Họ và tên").fill("Nguyễn Văn Mới");
  await page.getByLabel("Mật khẩu ban đầu").fill("Sen-hồng-nở-2026!");
  await page.getByLabel("Vai trò", { exact: true }).selectOption("desk_officer");
  await page.getByLabel("Tại đơn vị").selectOption({ index: 1 });
  await page.getByRole("button", { name: "Tạo tài khoản" }).click();
  await page.waitForURL(/\/can-bo\/quan-tri\/can-bo\/nguyen\.van\.moi/);
  assert.match(await page.locator(".notice-success").textContent(), /Đã tạo tài khoản/);
  assert.deepEqual(await seriousViolations(page), [], "staff page accessibility");
  await page.getByLabel("Vai trò", { exact: true }).selectOption("specialist");
  await page.getByLabel("Tại đơn vị").selectOption({ index: 1 });
  await page.getByRole("button", { name: "Lưu vai trò" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator("main").textContent(), /Chuyên viên xử lý/);
  await shot(page, "admin-user");

  // An org unit with a malformed code, then a good one.
  await page.goto(env.server.base + "/can-bo/quan-tri/don-vi");
  await page.getByLabel("Mã định danh (QCVN 102)").fill("31.H99");
  await page.getByLabel("Tên đơn vị").fill("UBND xã Thử Nghiệm");
  await page.getByLabel("Loại đơn vị").selectOption("commune");
  await page.getByRole("button", { name: "Thêm đơn vị" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".error-summary").textContent(), /QCVN 102/);
  assert.deepEqual(await seriousViolations(page), [], "org unit errors accessibility");
  await shot(page, "admin-units-error");
  await page.getByLabel("Mã định danh (QCVN 102)").fill("000.00.99.H99");
  await page.getByRole("button", { name: "Thêm đơn vị" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".notice-success").textContent(), /000\.00\.99\.H99/);

  await page.goto(env.server.base + "/can-bo/quan-tri/lich?nam=2026");
  assert.match(await page.locator("main").textContent(), /02\/09\/2026/);
  assert.deepEqual(await seriousViolations(page), [], "calendar accessibility");
  await shot(page, "admin-calendar");

  // The narrow screen of a phone: the tables stack.
  const narrow = await admin(360);
  await narrow.goto(env.server.base + "/can-bo/quan-tri/thu-tuc");
  assert.deepEqual(await seriousViolations(narrow), [], "procedures at 360 px");
  await shot(narrow, "admin-procedures-360");
});

test("the operator registers a service, answers an access request and issues a secret in the LGSP console", async () => {
  const page = await admin();
  await page.goto(env.server.base + "/can-bo/quan-tri");
  await page.getByRole("link", { name: "Trao đổi dữ liệu (LGSP)" }).click();
  await page.waitForURL(/\/can-bo\/quan-tri\/lgsp$/);
  assert.deepEqual(await seriousViolations(page), [], "LGSP page accessibility");

  // A member id that is no id is refused beside its field, the form kept as typed.
  await page.getByLabel("Mã thành viên").fill("VN-DEV/GOV/SO TU PHAP");
  await page.getByLabel("Tên thành viên").fill("Sở Tư pháp");
  await page.getByRole("button", { name: "Lưu thành viên" }).click();
  await page.waitForLoadState("load");
  assert.ok(await page.locator(".error-summary").isVisible());
  assert.equal(await page.getByLabel("Tên thành viên").inputValue(), "Sở Tư pháp");
  assert.deepEqual(await seriousViolations(page), [], "member error accessibility");
  for (const [id, name] of [["VN-DEV/GOV/000.00.05.H99", "Sở Tư pháp"], ["VN-DEV/GOV/000.00.06.H99", "Sở Y tế"]]) {
    await page.getByLabel("Mã thành viên").fill(id);
    await page.getByLabel("Tên thành viên").fill(name);
    await page.getByRole("button", { name: "Lưu thành viên" }).click();
    await page.waitForURL(/xong=thanh-vien/);
  }
  for (const [id, name] of [["VN-DEV/GOV/000.00.05.H99/ho-tich", "Hộ tịch điện tử"], ["VN-DEV/GOV/000.00.06.H99/mot-cua", "Một cửa Sở Y tế"]]) {
    await page.getByLabel("Mã hệ thống", { exact: true }).fill(id);
    await page.getByLabel("Tên hệ thống").fill(name);
    await page.getByRole("button", { name: "Đăng ký hệ thống" }).click();
    await page.waitForURL(/xong=he-thong/);
  }
  assert.match(await page.locator(".notice-success").textContent(), /Đã đăng ký hệ thống thông tin/);

  // A service of the registry's system, described by OpenAPI.
  await page.getByRole("link", { name: "Thêm dịch vụ của Hộ tịch điện tử" }).click();
  await page.waitForURL(/dich-vu\?he-thong=/);
  await page.getByLabel("Mã dịch vụ").fill("khai-sinh");
  await page.getByLabel("Tên dịch vụ").fill("Tra cứu khai sinh");
  await page.getByLabel("Phiên bản").fill("1.0.0");
  await page.getByLabel("Đơn vị hoặc người chịu trách nhiệm").fill("Sở Tư pháp");
  await page.getByLabel("Địa chỉ dịch vụ của bên cung cấp").fill("http://127.0.0.1:9/api");
  await page.getByLabel(/Mô tả OpenAPI 3/).fill('{"openapi": "3.0.3", "paths": {"/khai-sinh/{so}": {"get": {}}, "/thong-ke": {"get": {}}}}');
  await page.getByRole("button", { name: "Thêm dịch vụ" }).click();
  await page.waitForURL(/dich-vu\?id=.*xong=dich-vu/);
  assert.match(await page.locator("main").textContent(), /GET \/khai-sinh\/\*/);
  assert.deepEqual(await seriousViolations(page), [], "service page accessibility");
  await shot(page, "admin-lgsp-service");

  // An access request for two endpoints, granted for one.
  await page.goto(env.server.base + "/can-bo/quan-tri/lgsp");
  await page.locator("#dn-client").selectOption("VN-DEV/GOV/000.00.06.H99/mot-cua");
  await page.locator("#dn-service").selectOption("VN-DEV/GOV/000.00.05.H99/ho-tich/khai-sinh");
  await page.getByLabel(/Điểm cuối đề nghị/).fill("GET /khai-sinh/*\nGET /thong-ke");
  await page.getByLabel("Mục đích sử dụng dữ liệu").fill("Đối chiếu giấy khai sinh khi cấp thẻ bảo hiểm y tế cho trẻ em");
  await page.getByLabel("Căn cứ pháp lý").fill("Luật Bảo hiểm y tế");
  await page.getByRole("button", { name: "Gửi đề nghị" }).click();
  await page.waitForURL(/xong=de-nghi/);
  await page.getByRole("link", { name: /Xem và trả lời/ }).first().click();
  await page.waitForURL(/\/de-nghi\/[0-9a-f-]+$/);
  assert.deepEqual(await seriousViolations(page), [], "access request accessibility");
  await page.getByLabel("Cấp quyền", { exact: true }).check();
  await page.getByLabel("GET /thong-ke").uncheck();
  await page.getByLabel(/ghi chú, điều kiện/).fill("Chỉ dùng để đối chiếu khi tiếp nhận hồ sơ");
  await page.getByRole("button", { name: "Gửi trả lời" }).click();
  await page.waitForURL(/xong=1/);
  assert.match(await page.locator(".notice-success").textContent(), /Đã ghi nhận trả lời/);
  assert.match(await page.locator("main").textContent(), /Đã cấp quyền/);
  await shot(page, "admin-lgsp-request");

  // A secret for the client system, shown once.
  await page.goto(env.server.base + "/can-bo/quan-tri/lgsp");
  await page.getByRole("button", { name: "Cấp khóa bí mật cho Một cửa Sở Y tế" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator("#khoa").textContent(), /^[0-9a-f]{64}$/);
  assert.deepEqual(await seriousViolations(page), [], "secret page accessibility");

  // On a phone the page does not scroll sideways.
  const narrow = await admin(360);
  await narrow.goto(env.server.base + "/can-bo/quan-tri/lgsp");
  assert.equal(await scrollsSideways(narrow), false, "the LGSP page fits 360 px");
  assert.deepEqual(await seriousViolations(narrow), [], "LGSP page at 360 px");
  await shot(narrow, "admin-lgsp-360");
});
