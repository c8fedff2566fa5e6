#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/) from the demo catalogue
and a few hand-picked edge cases. Run from the repository root: python3 fuzz/make_corpus.py"""
import csv, io, json, os, struct, zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
COLUMNS = ["code", "name", "field", "summary", "applicants", "receiving_units", "deciding_unit",
           "online_level", "deadline_kind", "deadline_value", "fees", "components", "form_schema",
           "result_name", "result_document_type", "return_channels", "legal_basis", "process",
           "effective_from", "effective_to"]


def put(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def ids_input(kind, day, seq, s):
    """The `ids` target reads (u8, u16, u32, &str): the numbers little-endian, then the text."""
    return struct.pack("<BHI", kind, day, seq) + s.encode()


def table(procs):
    rows = [COLUMNS]
    for p in procs:
        d = p["deadline"]
        value = str(d.get("hours", d.get("days", ""))) if d["kind"] != "none" else ""
        js = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        rows.append([p["code"], p["name"], p["field"], p["summary"], p["applicants"],
                     "; ".join(p["receiving_units"]), p["deciding_unit"], p["online_level"], d["kind"], value,
                     js(p["fees"]), js(p["components"]), js(p["form_schema"]), p["result"]["name"],
                     p["result"]["document_type"], "; ".join(p["return_channels"]), "\n".join(p["legal_basis"]),
                     js(p["process"]), p["effective_from"], p.get("effective_to") or ""])
    return rows


def to_csv(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def col(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xlsx(rows, extra_cells=""):
    """A minimal workbook: one sheet of inline strings (what calamine reads)."""
    cells = []
    for r, row in enumerate(rows):
        cs = "".join(f'<c r="{col(c)}{r + 1}" t="inlineStr"><is><t xml:space="preserve">{esc(v)}</t></is></c>'
                     for c, v in enumerate(row) if v != "")
        cells.append(f'<row r="{r + 1}">{cs}</row>')
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(cells) + extra_cells + "</sheetData></worksheet>")
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Thủ tục" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    procs = json.load(open(os.path.join(repo, "demo", "procedures.json"), encoding="utf-8"))
    rows = table(procs[:2])

    # Catalog import, CSV: the demo format, its UTF-8 BOM and UTF-16 forms, one bad row.
    text = to_csv(rows)
    put("import_csv", "demo-2.csv", text)
    put("import_csv", "demo-2-bom.csv", b"\xef\xbb\xbf" + text.encode())
    put("import_csv", "demo-1-utf16.csv", b"\xff\xfe" + to_csv(rows[:2]).encode("utf-16-le"))
    bad = [list(r) for r in rows]
    bad[1][0], bad[2][10] = "1.23", '[{"name": '
    put("import_csv", "bad-rows.csv", to_csv(bad))
    put("import_csv", "header-only.csv", to_csv(rows[:1]))

    # Catalog import, XLSX: the demo format, and a sheet whose two cells span the whole grid.
    put("import_xlsx", "demo-2.xlsx", xlsx(rows))
    put("import_xlsx", "header-only.xlsx", xlsx(rows[:1]))
    put("import_xlsx", "far-corners.xlsx",
        xlsx([["code"]], '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'))

    # Form data: against the built-in form, and [schema, data] pairs from the demo catalogue.
    put("form", "valid.json", json.dumps({"ho_ten_tre": "Nguyễn Văn An", "ngay_sinh": "2026-01-31",
                                          "gioi_tinh": "Nam", "so_dinh_danh_me": "001203004567",
                                          "can_nang": 3.25, "dia_chi": {"tinh": "Lạc Hồng"}}, ensure_ascii=False))
    put("form", "nfd.json", json.dumps({"ho_ten_tre": "Nguye\u0302\u0303n", "ngay_sinh": "2026-02-30",
                                        "gioi_tinh": "Nu\u031b\u0303", "so_dinh_danh_me": "１２３"}, ensure_ascii=False))
    put("form", "wrong-types.json", '{"ho_ten_tre": 1, "so_ban_sao": 1.5e300, "con_khac": [null], "x": {}}')
    for i, p in enumerate(procs[:3]):
        put("form", f"demo-schema-{i}.json", json.dumps([p["form_schema"], {}], ensure_ascii=False))
    put("form", "refs.json", '[{"type":"object","properties":{"a":{"$ref":"#/$defs/b"}},"$defs":{"b":{"type":"string","pattern":"^(a+)+$"}}},{"a":"aaaaaaaaaaaaaaaaaaaaaaaa!"}]')

    # Codes: valid and almost-valid ones (the tuple's first value is the text).
    for i, s in enumerate(["000.00.01.H99-260209-0007", "000.00.00.H99", "1.000948.H38", "001203004567",
                           "0101234567-001", "000.00.01.H99-260229-10000", "C1234567", "1.000948.h38"]):
        put("ids", f"seed-{i}", ids_input(i, 9535 + 97 * i, [7, 1, 9999, 10000, 99999, 100000, 0, 42][i], s))

    # Text: Vietnamese names in NFC and NFD, confusables, invisible characters.
    for i, s in enumerate(["Đăng ký kết hôn", "Nguye\u0302\u0303n Va\u0306n A", "Nguyễn V\u0430n An",
                           "An\u202enyuğN", "ĐỖ  thị--ánh__tuyết", "ǅ ﬁ Ⅻ ẞ", "x" * 40 + " văn"]):
        put("text", f"seed-{i}", s)

    # Uploads: the signatures of the accepted types and a name with path tricks.
    # (the first line is the file name, the rest the file)
    put("upload", "pdf", b"to-khai.pdf\n%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    put("upload", "png", "ảnh\u202egnp.exe\n".encode() + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    put("upload", "jpg", "..\\..\\Ca\u0300\u200dn cu\u031bo\u031b\u0301c.jpg\n".encode() + b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    put("upload", "xlsx", b"C:/a/../b.xlsx\n" + xlsx(rows[:1]))


if __name__ == "__main__":
    main()
