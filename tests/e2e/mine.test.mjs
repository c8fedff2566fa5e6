// "Hồ sơ của tôi" in a real browser with JavaScript turned off: a citizen follows their own
// dossier, answers a supplement request by uploading the document, downloads the signed result
// and rates the service; another citizen gets "not found" for the same dossier.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoEnvironment, samplePdf, scrollsSideways, seriousViolations, shot, signIn } from "./lib.mjs";

const env = demoEnvironment();
const KHOA = "036095001234";
const HA = "036198004321";

async function officer(username) {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  return signIn(ctx, env.server, "staff", username);
}

async function act(page, code, action, fill = {}) {
  await page.goto(`${env.server.base}/can-bo/ho-so/${code}`);
  const form = page.locator(`#form-${action}`);
  for (const [label, value] of Object.entries(fill)) await form.getByLabel(label).fill(value);
  await form.getByRole("button").click();
  await page.waitForLoadState("load");
  assert.equal(await page.locator(".error-summary").count(), 0, `${action}: ${await page.locator("main").textContent()}`);
}

/** The citizen submits online through the API from their signed-in browser (session and CSRF). */
async function submitAsCitizen(page, identity, name) {
  return page.evaluate(
    async ([identity, name, pdf]) => {
      const me = await (await fetch("/api/v1/me")).json();
      const form = new FormData();
      form.append(
        "dossier",
        JSON.stringify({
          procedure_code: "1.001193",
          receiving_unit: "000.00.31.H99",
          channel: "online",
          applicant: { kind: "person", identity_kind: "citizen", identity_number: identity, name, phone: "0912000101" },
          form_data: { ho_ten_tre: "Bé Minh", ngay_sinh: "2026-10-02", gioi_tinh: "Nam", noi_sinh: "Trạm y tế phường Lạc Sơn", ho_ten_me: "Lê Thu" },
        }),
      );
      for (const c of ["to-khai", "giay-chung-sinh", "cccd"]) {
        form.append(c, new Blob([Uint8Array.from(atob(pdf), (ch) => ch.charCodeAt(0))], { type: "application/pdf" }), `${c}.pdf`);
      }
      const r = await fetch("/api/v1/dossiers", { method: "POST", headers: { "X-CSRF-Token": me.session.csrf_token }, body: form });
      return { status: r.status, body: await r.json() };
    },
    [identity, name, samplePdf("to khai").toString("base64")],
  );
}

test("a citizen follows their dossier, supplies a document without JavaScript, downloads the result and rates it", async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const citizen = await signIn(ctx, env.server, "citizen", KHOA);
  const submitted = await submitAsCitizen(citizen, KHOA, "Trần Minh Khoa");
  assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
  const { code } = submitted.body;
  await ctx.close();

  // From here on the citizen's browser runs no JavaScript at all.
  const noJs = await env.browser.newContext({ viewport: { width: 360, height: 800 }, javaScriptEnabled: false, bypassCSP: true, acceptDownloads: true });
  const page = await signIn(noJs, env.server, "citizen", KHOA);
  await page.getByRole("link", { name: "Hồ sơ của tôi" }).click();
  await page.waitForURL(/\/ho-so-cua-toi$/);
  assert.match(await page.locator("main").textContent(), new RegExp(code.replace(/\./g, "\\.")));
  assert.equal(await scrollsSideways(page), false, "list at 360 px");

  const desk = await officer("motcua.lacson");
  await act(desk, code, "accept");
  await act(desk, code, "request_supplement", { "Lý do": "Bổ sung bản chụp giấy chứng sinh có dấu của trạm y tế" });

  await page.goto(env.server.base + "/ho-so-cua-toi");
  await page.getByRole("link", { name: code }).click();
  await page.waitForURL(/\/ho-so-cua-toi\/.+/);
  const text = await page.locator("main").textContent();
  assert.match(text, /Việc bạn cần làm: bổ sung giấy tờ/);
  assert.match(text, /giấy chứng sinh có dấu của trạm y tế/);
  assert.match(text, /Hẹn trả kết quả/);
  assert.equal(await scrollsSideways(page), false, "dossier page at 360 px");
  await shot(page, "mine-supplement");
  // axe-core needs script; a second, scripted view of the same page is checked.
  const checker = await (await env.browser.newContext({ bypassCSP: true })).newPage();
  await checker.context().addCookies(await noJs.cookies());
  await checker.goto(page.url());
  assert.deepEqual(await seriousViolations(checker), [], "dossier page accessibility");
  await checker.goto(env.server.base + "/ho-so-cua-toi");
  assert.deepEqual(await seriousViolations(checker), [], "list accessibility");

  // Sending nothing is reported in the summary at the top.
  await page.getByRole("button", { name: "Gửi giấy tờ bổ sung" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".error-summary").textContent(), /Chọn ít nhất một tệp/);
  const file = join(env.server.dir, "giay-chung-sinh.pdf");
  writeFileSync(file, samplePdf("giay chung sinh"));
  await page.locator("#tep-giay-chung-sinh").setInputFiles(file);
  await page.getByLabel("Ghi chú gửi cơ quan (không bắt buộc)").fill("Đã gửi bản chụp có dấu");
  await page.getByRole("button", { name: "Gửi giấy tờ bổ sung" }).click();
  await page.waitForURL(/da-bo-sung/);
  assert.match(await page.locator(".notice-success").textContent(), /Đã gửi giấy tờ bổ sung/);
  assert.match(await page.locator("main").textContent(), /Người nộp đã bổ sung hồ sơ/);
  assert.match(await page.locator("main").textContent(), /giay-chung-sinh\.pdf/);

  // Another citizen does not see it, even with the code.
  const other = await signIn(await env.browser.newContext({ bypassCSP: true }), env.server, "citizen", HA);
  const resp = await other.goto(`${env.server.base}/ho-so-cua-toi/${code}`);
  assert.equal(resp.status(), 404);

  // The officers finish; the citizen downloads the signed result.
  await act(desk, code, "forward");
  const specialist = await officer("chuyenvien.lacson");
  await act(specialist, code, "forward");
  const leader = await officer("lanhdao.lacson");
  await act(leader, code, "approve");
  await act(desk, code, "record_result");
  await page.goto(`${env.server.base}/ho-so-cua-toi/${code}`);
  assert.match(await page.locator("main").textContent(), /Kết quả giải quyết/);
  await shot(page, "mine-result");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.locator("a", { hasText: "Tải về" }).first().click(),
  ]);
  const saved = join(env.server.dir, "ket-qua.pdf");
  await download.saveAs(saved);
  const pdf = readFileSync(saved);
  assert.equal(pdf.subarray(0, 4).toString(), "%PDF");
  assert.match(pdf.toString("latin1"), /\/ByteRange/, "the result carries a signature");

  // The rating form, checked by axe-core in a scripted view, then answered without script.
  await checker.goto(page.url());
  assert.deepEqual(await seriousViolations(checker), [], "rating form accessibility");
  await page.getByRole("button", { name: "Gửi đánh giá" }).click();
  await page.waitForLoadState("load");
  assert.match(await page.locator(".error-summary").textContent(), /Đánh giá chung/);
  // Choosing by keyboard: focus the first answer of each question and press space.
  const groups = page.locator("form[action$='/danh-gia'] fieldset");
  const count = await groups.count();
  assert.equal(count, 10, "nine criteria and the overall rating");
  for (let i = 0; i < count; i++) {
    await groups.nth(i).locator("input[type=radio]").first().focus();
    await page.keyboard.press("Space");
  }
  await page.getByLabel("Ý kiến khác (không bắt buộc)").fill("Cán bộ hướng dẫn tận tình, trả kết quả sớm");
  await page.getByRole("button", { name: "Gửi đánh giá" }).click();
  await page.waitForURL(/da-danh-gia/);
  assert.match(await page.locator(".notice-success").textContent(), /Đã ghi nhận đánh giá/);
  const rated = await page.locator("main").textContent();
  assert.match(rated, /Bạn đã đánh giá lúc/);
  assert.match(rated, /Rất hài lòng/);
  assert.equal(await page.getByRole("button", { name: "Gửi đánh giá" }).count(), 0, "rated once");
  assert.equal(await scrollsSideways(page), false, "rated dossier at 360 px");
  await shot(page, "mine-rated");
});
