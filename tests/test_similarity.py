"""Copy detection (core.similarity) and `dangjian textcheck`.

Offsets contract: for a passage copied unchanged, the two slices are equal after normalization
(punctuation and spacing may differ between copies, so not always as raw text); for a lightly
edited copy they are near-equal after normalization (difflib ratio ≥ 0.9)."""
import io
import json
import os
import random
import re
import zipfile
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dangjian.core import similarity
from dangjian.core.similarity import Passage, copies_of, docx_text, find_copies, normalize, normalize_with_map
from tests.factories import original, run_console

SEEDS = Path(__file__).parent / "data" / "seeds"


def seed_speeches() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def seed_clauses() -> list[str]:
    out = set()
    for text in seed_speeches().values():
        for m in re.finditer(r"[^，。；：！？、\n“”《》（）]+[，。；：！？、]", text):
            if 8 <= len(normalize(m.group())) <= 30:
                out.add(m.group())
    return sorted(out)


def norm_equal(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)


def near_equal(a: str, b: str) -> bool:
    return SequenceMatcher(None, normalize(a), normalize(b), autojunk=False).ratio() >= 0.9


@pytest.fixture
def corpus():
    rng = random.Random(7)
    return {f"r{i}": original(rng) for i in range(12)}


# --- normalization -----------------------------------------------------------------------------

def test_normalize_drops_punctuation_and_folds_width_and_case():
    text = "２０２６年，ＡＢＣ 支部\n召开“主题党日”Abc_1！"
    norm, offsets = normalize_with_map(text)
    assert norm == normalize(text) == "2026年abc支部召开主题党日abc1"
    assert [text[o] for o in offsets[:4]] == list("２０２６")
    assert text[offsets[norm.index("召")]] == "召"
    assert len(offsets) == len(norm)


# --- finding copies ----------------------------------------------------------------------------

def test_copied_paragraph_inside_original_report_is_found_with_offsets(corpus):
    src = corpus["r1"]
    start = src.index("\n", 1200) + 1
    paragraph = src[start:src.index("\n", start)]
    assert 100 <= len(paragraph) <= 400
    host = corpus["r2"]
    cut = host.index("\n", 1500)
    corpus["r2"] = host[:cut] + "\n" + paragraph + host[cut:]

    pairs = find_copies(corpus)
    assert [(p.a, p.b) for p in pairs] == [("r1", "r2")]
    (passage,) = pairs[0].passages
    a, b = corpus["r1"], corpus["r2"]
    assert norm_equal(a[passage.a_start:passage.a_end], b[passage.b_start:passage.b_end])
    # the passage is the paragraph, at its place in both texts (closing punctuation aside)
    assert passage.a_start == start and passage.b_start == cut + 1
    assert paragraph.startswith(a[passage.a_start:passage.a_end])
    assert passage.a_end >= start + len(paragraph) - 1
    assert 0 < pairs[0].score < 0.2
    assert pairs[0].copied == len(normalize(paragraph))


def test_short_copied_paragraph_of_about_100_characters_is_found(corpus):
    src = corpus["r3"]
    paragraph = src[800:905]
    corpus["r4"] = corpus["r4"][:1000] + paragraph + "\n" + corpus["r4"][1000:]
    pairs = find_copies(corpus)
    assert [(p.a, p.b) for p in pairs] == [("r3", "r4")]
    p = pairs[0].passages[0]
    assert norm_equal(src[p.a_start:p.a_end], corpus["r4"][p.b_start:p.b_end])
    assert len(normalize(src[p.a_start:p.a_end])) >= len(normalize(paragraph)) - 2


def test_punctuation_changed_in_copy_still_found_and_equal_after_normalization(corpus):
    paragraph = corpus["r5"][500:700]
    changed = paragraph.replace("，", ", ").replace("。", ".\n")
    corpus["r6"] = changed + corpus["r6"]
    (pair,) = find_copies(corpus)
    p = pair.passages[0]
    assert (pair.a, pair.b) == ("r5", "r6")
    assert norm_equal(corpus["r5"][p.a_start:p.a_end], corpus["r6"][p.b_start:p.b_end])
    assert corpus["r6"][p.b_start:p.b_end] != corpus["r5"][p.a_start:p.a_end]


def test_lightly_edited_copy_is_still_found_as_one_passage(corpus):
    paragraph = corpus["r7"][1000:1200]
    chars = list(paragraph)
    for i in (30, 31, 90, 150):  # a few characters changed, two of them adjacent
        chars[i] = "某" if chars[i] != "某" else "甲"
    corpus["r8"] = corpus["r8"][:600] + "\n" + "".join(chars) + "\n" + corpus["r8"][600:]
    (pair,) = find_copies(corpus)
    assert (pair.a, pair.b) == ("r7", "r8")
    (p,) = pair.passages
    a_text, b_text = corpus["r7"][p.a_start:p.a_end], corpus["r8"][p.b_start:p.b_end]
    assert near_equal(a_text, b_text) and not norm_equal(a_text, b_text)
    assert len(normalize(a_text)) >= 0.9 * len(normalize(paragraph))


def test_document_and_its_lightly_edited_copy(corpus):
    text = corpus["r9"]
    edited = text[:700] + "有" + text[701:1900] + "进一步" + text[1900:]
    pairs = find_copies({"old": text, "new": edited})
    (pair,) = pairs
    assert pair.score > 0.95
    assert pair.passages[0][:2] == (0, pair.passages[0].a_end)
    assert all(near_equal(text[p.a_start:p.a_end], edited[p.b_start:p.b_end]) for p in pair.passages)


def test_several_passages_from_one_source_and_repeated_texts(corpus):
    src = corpus["r10"]
    one, two = src[300:450], src[2000:2200]
    corpus["r11"] = one + "\n" + corpus["r11"][:1500] + "\n" + two + "\n" + corpus["r11"][1500:]
    corpus["dup"] = corpus["r0"]
    pairs = {(p.a, p.b): p for p in find_copies(corpus)}
    assert set(pairs) == {("r0", "dup"), ("r10", "r11")}
    assert pairs[("r0", "dup")].score == 1.0
    assert pairs[("r0", "dup")].passages == [Passage(0, len(corpus["r0"]) - 1, 0, len(corpus["r0"]) - 1)]
    assert len(pairs[("r10", "r11")].passages) == 2


def test_seed_speeches_are_independent():
    speeches = seed_speeches()
    assert len(speeches) == 5
    assert find_copies(speeches) == []
    # without the built-in formulations: their longest common run (40 characters) is below the bar
    assert find_copies(speeches, background=()) == []


def test_seed_speeches_share_formulations_that_a_low_bar_would_flag():
    """The standard formulations are really there: a 30-character bar without background flags pairs."""
    pairs = find_copies(seed_speeches(), background=(), min_passage=30)
    assert pairs
    assert find_copies(seed_speeches(), min_passage=30) == []


def test_texts_sharing_only_standard_formulations_are_not_flagged():
    rng = random.Random(11)
    standard = seed_clauses()[:60]  # a small stock: every report repeats the same formulations
    docs = {f"d{i}": original(rng, standard=standard, share=0.45) for i in range(60)}
    # the formulations follow one another in the same order in many pairs of reports
    assert find_copies(docs, background=(), common_docs=10**6)  # no discount: flagged
    assert find_copies(docs, background=()) == []  # learned from the collection: not flagged
    assert find_copies(docs) == []


def test_copy_among_texts_full_of_standard_formulations_is_found():
    rng = random.Random(12)
    standard = seed_clauses()[:60]
    docs = {f"d{i}": original(rng, standard=standard, share=0.45) for i in range(60)}
    src = docs["d3"]
    start = src.index("\n", 1000) + 1
    paragraph = src[start:src.index("\n", start)]
    docs["d40"] = docs["d40"][:900] + "\n" + paragraph + "\n" + docs["d40"][900:]
    pairs = find_copies(docs)
    assert [(p.a, p.b) for p in pairs] == [("d3", "d40")]
    p = pairs[0].passages[0]
    assert norm_equal(docs["d3"][p.a_start:p.a_end], docs["d40"][p.b_start:p.b_end])
    assert pairs[0].copied < len(normalize(paragraph))  # its standard formulations are not credited


def test_copies_of_one_new_text_against_a_corpus(corpus):
    new = corpus["r2"][:500] + corpus["r5"][1000:1300] + "本支部组织学习。"
    pairs = copies_of("new", new, corpus)
    assert {p.b for p in pairs} == {"r2", "r5"}
    assert all(p.a == "new" for p in pairs)
    for p in pairs:
        for s in p.passages:
            assert norm_equal(new[s.a_start:s.a_end], corpus[p.b][s.b_start:s.b_end])
    with pytest.raises(ValueError):
        copies_of("r1", new, corpus)


def test_empty_and_tiny_documents():
    assert find_copies({}) == []
    assert find_copies({"a": "", "b": "。。", "c": "同志们"}) == []


# --- .docx -------------------------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def make_docx(paragraphs: list[list[str]], extra_body: str = "") -> bytes:
    """A minimal Word document; each paragraph is a list of runs."""
    def run(t):
        return f'<w:r><w:t xml:space="preserve">{t}</w:t></w:r>'

    body = "".join(f"<w:p>{''.join(run(t) for t in runs)}</w:p>" for runs in paragraphs)
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}">'
           f"<w:body>{body}{extra_body}<w:sectPr/></w:body></w:document>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("word/document.xml", xml)
    return buf.getvalue()


def test_docx_text_joins_runs_and_paragraphs():
    table = ('<w:tbl><w:tr><w:tc><w:p><w:r><w:t>表格</w:t></w:r><w:r><w:delText>删除</w:delText></w:r>'
             "</w:p></w:tc></w:tr></w:tbl>")
    data = make_docx([["第一段", "接着"], [], ["第二段"]], extra_body=table)
    assert docx_text(data) == "第一段接着\n\n第二段\n表格"


@pytest.mark.parametrize("data, message", [
    (b"not a zip at all", "无法作为 Word 文档打开"),
    (b"PK\x03\x04broken", "无法作为 Word 文档打开"),
])
def test_docx_text_refuses_garbage(data, message):
    with pytest.raises(similarity.DocumentError, match=message):
        docx_text(data)


def test_docx_text_refuses_zip_without_body_and_broken_xml():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "x")
    with pytest.raises(similarity.DocumentError, match="缺少正文"):
        docx_text(buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document><w:body>")
    with pytest.raises(similarity.DocumentError, match="已损坏"):
        docx_text(buf.getvalue())


# --- the command -------------------------------------------------------------------------------

def textcheck(*args) -> str:
    out = io.StringIO()
    call_command("textcheck", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def folder(tmp_path, corpus):
    d = tmp_path / "reports"
    (d / "2025").mkdir(parents=True)
    paragraph = corpus["r1"][1200:1450]
    (d / "a.txt").write_text(corpus["r1"], encoding="utf-8")
    (d / "2025" / "b.txt").write_text(corpus["r2"][:1000] + "\n" + paragraph + "\n" + corpus["r2"][1000:],
                                      encoding="utf-8")
    (d / "c.txt").write_text(corpus["r3"], encoding="utf-8")
    (d / "notes.md").write_text("不检查的文件", encoding="utf-8")
    (d / "~$a.docx").write_bytes(b"lock file")
    paras = corpus["r4"].split("\n")
    paras.insert(3, paragraph)
    (d / "d.docx").write_bytes(make_docx([[p[:40], p[40:]] for p in paras]))
    return d


def test_textcheck_json_shape_and_offsets(folder):
    data = json.loads(textcheck(str(folder), "--format", "json"))
    assert set(data) == {"pairs"}
    base = str(folder)
    got = {frozenset((p["a"], p["b"])) for p in data["pairs"]}
    a, b, dx = os.path.join(base, "a.txt"), os.path.join(base, "2025", "b.txt"), os.path.join(base, "d.docx")
    assert got == {frozenset(p) for p in ((a, b), (b, dx), (a, dx))}
    texts = {a: (folder / "a.txt").read_text(encoding="utf-8"),
             b: (folder / "2025" / "b.txt").read_bytes().decode("utf-8"),
             dx: docx_text((folder / "d.docx").read_bytes())}
    for pair in data["pairs"]:
        assert set(pair) == {"a", "b", "score", "passages"}
        assert isinstance(pair["score"], float) and 0 < pair["score"] <= 1
        assert pair["passages"]
        for p in pair["passages"]:
            assert set(p) == {"a_start", "a_end", "b_start", "b_end"}
            assert all(type(v) is int for v in p.values())
            assert norm_equal(texts[pair["a"]][p["a_start"]:p["a_end"]], texts[pair["b"]][p["b_start"]:p["b_end"]])


def test_textcheck_files_given_one_by_one_print_paths_as_given(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(folder)
    data = json.loads(textcheck("a.txt", "2025/b.txt", "c.txt", "a.txt", "--format", "json"))
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("a.txt", "2025/b.txt")]
    assert json.loads(textcheck("c.txt", "--format", "json")) == {"pairs": []}


def test_textcheck_table_shows_passages_side_by_side(folder):
    out = textcheck(str(folder))
    assert "共检查 4 份文件，发现 3 对" in out
    assert "甲：" in out and "乙：" in out and "│" in out
    assert "第 1 处" in out


def test_textcheck_table_without_copies(tmp_path, corpus):
    for name, key in (("x", "r5"), ("y", "r6")):
        (tmp_path / f"{name}.txt").write_text(corpus[key], encoding="utf-8")
    assert "未发现抄袭段落" in textcheck(str(tmp_path))


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.txt", "不存在"),
    (lambda d: (d / "r.pdf").write_bytes(b"%PDF") and d / "r.pdf", "不是 .txt 或 .docx 文件"),
    (lambda d: (d / "gbk.txt").write_bytes("党建工作".encode("gbk")) and d / "gbk.txt", "不是 UTF-8 编码"),
    (lambda d: (d / "bad.docx").write_bytes(b"not a docx") and d / "bad.docx", "不是有效的 .docx 文件"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "没有 .txt 或 .docx 文件"),
])
def test_textcheck_bad_inputs_name_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CommandError) as exc:
        textcheck(str(path), "--format", "json")
    assert message in str(exc.value)
    assert str(path) in str(exc.value)
    assert exc.value.returncode == 2


def test_textcheck_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "坏文件.docx"
    bad.write_bytes(b"PK\x03\x04garbage")
    good = tmp_path / "ok.txt"
    good.write_text("同志们：", encoding="utf-8")
    res = run_console("textcheck", str(good), str(bad), "--format", "json")
    assert res.returncode == 2
    assert "坏文件.docx" in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""
    res = run_console("textcheck", str(good), str(good), "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout) == {"pairs": []}
