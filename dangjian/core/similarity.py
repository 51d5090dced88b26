"""Passage-level copy detection between documents (述职报告, 会议记录).

Two texts are a copy pair when they share a long passage that is not one of the standard
formulations every official text repeats. The method (explained with its parameters in
docs/similarity.md):

1. Normalize: drop whitespace, punctuation and symbols, fold full-width letters and digits and
   upper case; keep a map from each normalized character back to its offset in the original.
2. Fingerprint: hash the k-character shingles that start on an *anchor* character (a fixed,
   content-defined ~1/6 of all characters), so two texts sharing a passage share the same
   fingerprints without hashing every position.
3. Discount standard formulations: a fingerprint found in more than
   min(``max_docs``, max(``common_docs``, ``common_share`` × collection size)) documents, or in the
   background texts, is ignored as a seed and its characters are not credited. ``max_docs`` bounds
   the cut-off whatever the collection size, so candidate pairs grow linearly with documents.
4. Candidates: pairs sharing at least ``min_shared`` of the remaining (rare) fingerprints, found
   through a bucketed inverted index, never by comparing all pairs.
5. Verify: from each shared fingerprint extend to the maximal matching run, stepping over a few
   changed, inserted or deleted characters; merge nearby runs into passages; a passage counts when
   at least ``min_passage`` of its matched characters lie outside standard formulations.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from xml.etree import ElementTree
from zlib import crc32

K = 10  # shingle length in normalized characters
ANCHOR_RATE = 6  # about one character in ANCHOR_RATE starts a fingerprinted shingle
MIN_PASSAGE = 50  # matched characters, after discounting standard formulations
MIN_SHARED = 3  # rare fingerprints two documents must share to be compared at all
COMMON_SHARE = 0.01
COMMON_DOCS = 10
RESUME = 8  # characters that must match again after a skipped edit
MERGE_GAP = 12  # passages closer than this in both texts are one passage
MAX_POSITIONS = 4  # occurrences of one fingerprint per document used as seeds
CACHE_DOCS = 256
# A fingerprint held by more documents than this is a standard formulation whatever the collection
# size: without the cap the 1% cut-off grows with the collection and so do the pairs each rare
# fingerprint proposes (up to cut-off² / 2), which makes the candidates quadratic in documents.
MAX_DOCS = 100

# An edit between two copies: characters skipped in (a, b); substitutions first.
_SKIPS = ((1, 1), (1, 0), (0, 1), (2, 2), (2, 1), (1, 2), (2, 0), (0, 2),
          (3, 3), (3, 2), (2, 3), (3, 1), (1, 3), (3, 0), (0, 3))

# Formulations shared by independent official speeches (learned from five real ones); passages
# made only of these never make a pair, however large or small the collection.
STANDARD_FORMULATIONS: tuple[str, ...] = (
    "始终在政治立场、政治方向、政治原则、政治道路上同以习近平同志为核心的党中央保持高度一致",
    "开展学习贯彻习近平新时代中国特色社会主义思想主题教育",
    "坚持以习近平新时代中国特色社会主义思想为指导",
    "用习近平新时代中国特色社会主义思想武装头脑、指导实践、推动工作",
    "深入学习贯彻习近平新时代中国特色社会主义思想和党的二十大精神",
    "机关纪委监督实起来、执纪硬起来、作用发挥强起来",
    "增强党内政治生活的政治性、时代性、原则性、战斗性",
    "机关掌握着印把子、笔杆子、刀把子、钱袋子、官帽子",
    "把坚决做到“两个维护”作为首要政治任务",
    "严格执行《关于新形势下党内政治生活的若干准则》",
    "要始终把政治纪律和政治规矩挺在前面",
    "不断提高政治判断力、政治领悟力、政治执行力",
    "推动机关基层党组织全面进步、全面过硬",
    "深刻领悟“两个确立”的决定性意义，增强“四个意识”、坚定“四个自信”、做到“两个维护”",
    "深刻领悟“两个确立”的决定性意义，坚决做到“两个维护”",
    "增强基层党组织政治功能和组织功能",
    "坚持党建工作与业务工作一起谋划、一起部署、一起落实、一起检查",
    "机关各级党组织和广大党员干部",
    "坚持以党的政治建设为统领，把党的政治建设摆在首位",
    "全面贯彻落实新时代党的建设总要求和新时代党的组织路线",
    "坚决贯彻落实党中央决策部署和市委工作要求",
    "推动机关党建高质量发展，以高质量机关党建引领高质量发展",
    "充分发挥基层党组织战斗堡垒作用和党员先锋模范作用",
    "对党绝对忠诚的政治品格",
    "关于加强和改进中央和国家机关党的建设的意见",
    "关于加强和改进新时代机关党的建设的实施意见",
    "机关具有鲜明的政治属性，是政治机关",
    "严格落实党建工作责任清单制度",
    "坚持不懈用党的创新理论凝心铸魂",
    "严肃党内政治生活，严格执行中央八项规定及其实施细则精神",
    "认真开好民主生活会、组织生活会",
    "在肯定成绩的同时，我们也要清醒地看到",
    "不忘初心、牢记使命",
    "全面从严治党向纵深发展",
    "建设让党中央放心、让人民群众满意的模范机关",
)


class Passage(NamedTuple):
    """A copied passage: ``a_text[a_start:a_end]`` corresponds to ``b_text[b_start:b_end]``."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float  # credited copied characters / normalized length of the shorter text
    passages: list[Passage] = field(default_factory=list)
    copied: int = 0  # credited copied characters (normalized)


# --- normalization ---------------------------------------------------------------------------

_NON_WORD = re.compile(r"[\W_]+")
_WORD = re.compile(r"[^\W_]+")
_FOLD = {c: c + 32 for c in range(0x41, 0x5B)}
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)})
_FOLD.update({c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)})
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_FOLDABLE = re.compile("[A-Z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")


def _fold(m: re.Match) -> str:
    return m.group().translate(_FOLD)


def _folded(s: str) -> str:
    # Both checks run in C and are ~20× cheaper than scanning with the character class; full-width
    # forms sort after every CJK character, so max() finds them.
    if s and (s.lower() != s or max(s) >= "\uff10"):
        return _FOLDABLE.sub(_fold, s)
    return s


def normalize(text: str) -> str:
    """Letters and digits only, full-width and upper case folded: what copying preserves."""
    return _folded(_NON_WORD.sub("", text))


def normalize_with_map(text: str) -> tuple[str, array]:
    """``normalize(text)`` and, for each of its characters, the offset it came from in ``text``."""
    parts = []
    offsets = array("q")
    for m in _WORD.finditer(text):
        parts.append(m.group())
        offsets.extend(range(m.start(), m.end()))
    return _folded("".join(parts)), offsets


# --- fingerprints ----------------------------------------------------------------------------

_ANCHOR_RANGES = (range(0x30, 0x3A), range(0x61, 0x7B), range(0x3400, 0x4DC0), range(0x4E00, 0xA000))


@lru_cache(maxsize=8)
def _anchor_re(k: int, rate: int) -> re.Pattern:
    # Which characters anchor depends only on the character, so a passage copied anywhere keeps
    # its anchors; the regex engine finds them without a Python loop over every position.
    chars = "".join(chr(c) for r in _ANCHOR_RANGES for c in r if crc32(chr(c).encode()) % rate == 0)
    return re.compile(f"(?=([{chars}].{{{k - 1}}}))", re.S)


def _hash(shingle: str) -> int:
    return crc32(shingle.encode())


def _fingerprints(norm: str, rx: re.Pattern) -> set[int]:
    return set(map(crc32, map(str.encode, rx.findall(norm))))


def _positions(norm: str, shingle: str) -> list[int]:
    out = []
    i = norm.find(shingle)
    while i >= 0 and len(out) < MAX_POSITIONS:
        out.append(i)
        i = norm.find(shingle, i + 1)
    return out


@lru_cache(maxsize=4)
def _background_hashes(texts: tuple[str, ...], k: int) -> frozenset[int]:
    # Every shingle, not only anchored ones: a formulation must be recognised whatever anchors
    # the surrounding text puts inside it.
    out = set()
    for text in texts:
        s = normalize(text)
        out.update(_hash(s[i:i + k]) for i in range(len(s) - k + 1))
    return frozenset(out)


def common_limit(n: int, *, common_docs: int = COMMON_DOCS, common_share: float = COMMON_SHARE,
                 max_docs: int | None = MAX_DOCS) -> int:
    """The most documents of a collection of ``n`` a fingerprint may be found in and still be
    rare (a seed, credited); above it, it is a standard formulation."""
    limit = max(common_docs, math.ceil(common_share * n))
    return min(limit, max_docs) if max_docs is not None else limit


def fingerprints(text: str, *, k: int = K, anchor_rate: int = ANCHOR_RATE) -> set[int]:
    """The anchored fingerprints of a text: what an index of the collection stores per document."""
    return _fingerprints(normalize(text), _anchor_re(k, anchor_rate))


def background_hashes(background: Iterable[str] | None = None, k: int = K) -> frozenset[int]:
    """Every shingle hash of the background texts (default ``STANDARD_FORMULATIONS``)."""
    return _background_hashes(STANDARD_FORMULATIONS if background is None else tuple(background), k)


@lru_cache(maxsize=8)
def _anchor_chars(rate: int) -> frozenset[str]:
    return frozenset(chr(c) for r in _ANCHOR_RANGES for c in r if crc32(chr(c).encode()) % rate == 0)


# --- verification ----------------------------------------------------------------------------

def _common_prefix(a: str, i: int, b: str, j: int) -> int:
    lim = min(len(a) - i, len(b) - j)
    n = 0
    while n + 32 <= lim and a[i + n:i + n + 32] == b[j + n:j + n + 32]:
        n += 32
    while n < lim and a[i + n] == b[j + n]:
        n += 1
    return n


def _extend(a: str, i: int, b: str, j: int) -> list[tuple[int, int, int, int]]:
    """Matching runs from (i, j) onwards, stepping over small edits between them."""
    runs = []
    la, lb = len(a), len(b)
    while True:
        n = _common_prefix(a, i, b, j)
        if n:
            runs.append((i, i + n, j, j + n))
            i += n
            j += n
        for da, db in _SKIPS:
            if i + da + RESUME <= la and j + db + RESUME <= lb and \
                    a[i + da:i + da + RESUME] == b[j + db:j + db + RESUME]:
                i += da
                j += db
                break
        else:
            return runs


def _align(na: str, ra: str, nb: str, rb: str, i: int, j: int) -> list[tuple[int, int, int, int]]:
    """All runs of the passage through the seed at (i, j), in order."""
    right = _extend(na, i, nb, j)
    la, lb = len(na), len(nb)
    left = [(la - ie, la - is_, lb - je, lb - js) for is_, ie, js, je in _extend(ra, la - i, rb, lb - j)]
    left.reverse()
    if left and right and left[-1][1] == right[0][0] and left[-1][3] == right[0][2]:
        right[0] = (left[-1][0], right[0][1], left[-1][2], right[0][3])
        left.pop()
    return left + right


def _passages(na, ra, nb, rb, seeds, k) -> list[list[tuple[int, int, int, int]]]:
    found: list[list[tuple[int, int, int, int]]] = []
    spans: list[tuple[int, int, int, int]] = []
    for i, j in sorted(seeds):
        if na[i:i + k] != nb[j:j + k]:
            continue  # hash collision
        if any(a0 <= i < a1 and b0 <= j < b1 for a0, a1, b0, b1 in spans):
            continue
        runs = _align(na, ra, nb, rb, i, j)
        found.append(runs)
        spans.append((runs[0][0], runs[-1][1], runs[0][2], runs[-1][3]))
    found.sort(key=lambda r: (r[0][0], r[0][2]))
    merged: list[list[tuple[int, int, int, int]]] = []
    for runs in found:
        if merged:
            prev = merged[-1]
            ga, gb = runs[0][0] - prev[-1][1], runs[0][2] - prev[-1][3]
            if 0 <= ga <= MERGE_GAP and 0 <= gb <= MERGE_GAP:
                prev.extend(runs)
                continue
            if prev[0][0] <= runs[0][0] and runs[-1][1] <= prev[-1][1] and \
                    prev[0][2] <= runs[0][2] and runs[-1][3] <= prev[-1][3]:
                continue  # inside a passage already found
        merged.append(list(runs))
    return merged


def _credit(na: str, runs, common, bg: frozenset[int], anchors: frozenset[str], k: int) -> int:
    """Matched characters of a passage that are not inside a standard formulation: a shingle of
    the background (any position), or an anchored shingle the collection holds too often. Only
    anchored shingles are looked up in ``common``: those are the document's own fingerprints, so
    a pair's credit depends on nothing but the two documents and their fingerprints' counts (a
    non-anchored shingle whose CRC collides with some other document's fingerprint is not a
    formulation) — which is what lets an index update a pair from the counts alone."""
    start, end = runs[0][0], runs[-1][1]
    lo = max(0, start - k + 1)
    covered = bytearray(end - lo)
    for p in range(lo, end - k + 1):
        h = _hash(na[p:p + k])
        if h in bg or (na[p] in anchors and h in common):
            covered[p - lo:p - lo + k] = b"\x01" * k
    return sum((r1 - r0) - covered[r0 - lo:r1 - lo].count(1) for r0, r1, _, _ in runs)


# --- collection ------------------------------------------------------------------------------

def find_copies(
    docs: dict[str, str],
    *,
    background: Iterable[str] | None = None,
    min_passage: int = MIN_PASSAGE,
    k: int = K,
    anchor_rate: int = ANCHOR_RATE,
    min_shared: int = MIN_SHARED,
    common_share: float = COMMON_SHARE,
    common_docs: int = COMMON_DOCS,
    max_docs: int | None = MAX_DOCS,
    only: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    stats: dict | None = None,
) -> list[Pair]:
    """Pairs of documents that share copied passages, most copied first.

    ``background``: texts whose formulations never count as copied (default
    ``STANDARD_FORMULATIONS``; pass ``()`` for none). ``only``: compare just these documents with
    all others (the frequency of formulations is still learned from the whole collection).
    Offsets in the passages index the texts as given. ``stats``, if given, is filled with what
    the run looked at: documents, the cut-off, the pairs the rare fingerprints propose
    (Σ df·(df−1)/2), the candidates verified and the pairs found.
    """
    ids = list(docs)
    n = len(ids)
    rx = _anchor_re(k, anchor_rate)
    bg = background_hashes(background, k)
    anchors = _anchor_chars(anchor_rate)
    limit = common_limit(n, common_docs=common_docs, common_share=common_share, max_docs=max_docs)

    # Inverted index in hash buckets, so the per-bucket counting stays small at any collection size.
    dbits = max(1, (n - 1).bit_length())
    dmask = (1 << dbits) - 1
    nbuckets = 1 << max(0, (n // 1000).bit_length())
    bmask = nbuckets - 1
    buckets: list = [array("q") for _ in range(nbuckets)]
    step = max(1, n // 100)
    appends = [b.append for b in buckets]
    for d, key in enumerate(ids):
        for h in _fingerprints(normalize(docs[key]), rx):
            appends[h & bmask]((h << dbits) | d)
        if progress and (d + 1) % step == 0:
            progress(d + 1, n)
    if progress:
        progress(n, n)

    shift = dbits.__rrshift__
    common: set[int] = set()  # the collection's formulations; the background is kept apart
    postings: dict[int, list[int]] = {}
    for bi in range(nbuckets):
        vals, buckets[bi] = buckets[bi], None
        counts = Counter(map(shift, vals))
        rare = set()
        for h, c in counts.items():
            if c > 1:
                if c > limit:
                    common.add(h)
                elif h not in bg:
                    rare.add(h)
        del counts
        for v in [v for v in vals if (v >> dbits) in rare]:
            postings.setdefault(v >> dbits, []).append(v & dmask)
        del vals
    common_frozen = frozenset(common)

    doc_rare: dict[int, list[int]] = defaultdict(list)
    for h, ds in postings.items():
        for d in ds:
            doc_rare[d].append(h)
    focus = None
    if only is not None:
        index = {key: d for d, key in enumerate(ids)}
        focus = {index[key] for key in only if key in index}
    candidates = []
    for a in (sorted(focus) if focus is not None else sorted(doc_rare)):
        seen = Counter()
        for h in doc_rare.get(a, ()):
            seen.update(postings[h])
        for b, m in seen.items():
            if m < min_shared or b == a or (b < a and (focus is None or b in focus)):
                continue  # each pair once
            candidates.append((a, b))

    # Candidates come grouped by their first document, so a small cache of prepared texts serves
    # most look-ups while memory stays independent of the number of candidates.
    prepared: OrderedDict[int, tuple[str, dict[int, str]]] = OrderedDict()

    def prepare(d):
        if d in prepared:
            prepared.move_to_end(d)
            return prepared[d]
        s = normalize(docs[ids[d]])
        wanted = set(doc_rare[d])
        shingles = rx.findall(s)
        entry = (s, {h: sh for h, sh in zip(map(crc32, map(str.encode, shingles)), shingles) if h in wanted})
        prepared[d] = entry
        if len(prepared) > CACHE_DOCS:
            prepared.popitem(last=False)
        return entry

    found = []
    for a, b in candidates:
        na, pa = prepare(a)
        nb, pb = prepare(b)
        kept, total = _verify(na, pa, nb, pb, common_frozen, bg, anchors, k, min_passage)
        if kept:
            found.append((a, b, kept, total, min(len(na), len(nb))))
    prepared.clear()

    maps: OrderedDict[int, array] = OrderedDict()

    def offsets(d):
        if d not in maps:
            maps[d] = normalize_with_map(docs[ids[d]])[1]
            if len(maps) > CACHE_DOCS:
                maps.popitem(last=False)
        return maps[d]

    pairs = [_pair(ids[a], offsets(a), ids[b], offsets(b), kept, total, shorter)
             for a, b, kept, total, shorter in found]
    pairs.sort(key=lambda p: -p.score)
    if stats is not None:
        stats.update(documents=n, limit=limit, proposed=sum(len(ds) * (len(ds) - 1) // 2 for ds in postings.values()),
                     candidates=len(candidates), pairs=len(pairs))
    return pairs


def _verify(na: str, pa: dict[int, str], nb: str, pb: dict[int, str], common, bg: frozenset[int],
            anchors: frozenset[str], k: int, min_passage: int) -> tuple[list, int]:
    """The passages two normalized texts share through their shared rare shingles (``pa``, ``pb``:
    rare fingerprint → shingle), those credited with at least ``min_passage``, and the credit."""
    seeds = [(i, j) for h, sh in pa.items() if pb.get(h) == sh
             for i in _positions(na, sh) for j in _positions(nb, sh)]
    kept = []
    total = 0
    for runs in _passages(na, na[::-1], nb, nb[::-1], seeds, k):
        credit = _credit(na, runs, common, bg, anchors, k)
        if credit >= min_passage:
            kept.append(runs)
            total += credit
    return kept, total


def _pair(a: str, ma: array, b: str, mb: array, kept, total: int, shorter: int) -> Pair:
    passages = [Passage(ma[r[0][0]], ma[r[-1][1] - 1] + 1, mb[r[0][2]], mb[r[-1][3] - 1] + 1) for r in kept]
    score = round(min(1.0, total / shorter), 4) if shorter else 0.0
    return Pair(a, b, score, passages, total)


def compare_pair(a: str, a_text: str, b: str, b_text: str, *, rare: Container[int], common: Container[int],
                 background: Iterable[str] | None = None, min_passage: int = MIN_PASSAGE, k: int = K,
                 anchor_rate: int = ANCHOR_RATE) -> Pair | None:
    """What ``find_copies`` reports for the pair (``a`` in the role of the earlier document of the
    collection), given which fingerprints of the collection are ``rare`` (seeds: held by 2 … limit
    documents, not in the background) and ``common`` (held by more than the limit) — as an index
    of the collection (its fingerprints and their counts) knows them. None when nothing is copied.
    Whether the pair is a candidate at all (``min_shared`` rare fingerprints in common) is the
    caller's look-up."""
    rx = _anchor_re(k, anchor_rate)
    bg = background_hashes(background, k)
    sides = []
    for text in (a_text, b_text):
        norm = normalize(text)
        shingles = rx.findall(norm)
        sides.append((norm, {h: sh for h, sh in zip(map(crc32, map(str.encode, shingles)), shingles) if h in rare}))
    (na, pa), (nb, pb) = sides
    kept, total = _verify(na, pa, nb, pb, common, bg, _anchor_chars(anchor_rate), k, min_passage)
    if not kept:
        return None
    return _pair(a, normalize_with_map(a_text)[1], b, normalize_with_map(b_text)[1], kept, total,
                 min(len(na), len(nb)))


def copies_of(doc_id: str, text: str, corpus: dict[str, str], **options) -> list[Pair]:
    """Documents of ``corpus`` that share copied passages with ``text`` (``pair.a`` is ``doc_id``)."""
    if doc_id in corpus:
        raise ValueError(f"{doc_id} is already in the corpus")
    docs = {doc_id: text, **corpus}
    return find_copies(docs, only=[doc_id], **options)


# --- reading documents -----------------------------------------------------------------------

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class DocumentError(ValueError):
    """A file that cannot be read as a text document; the message is for the user."""


def docx_text(data: bytes) -> str:
    """The text of a .docx: each paragraph's ``w:t`` text, paragraphs joined by newlines.

    Paragraphs nested in another one (text boxes) are part of the outer paragraph. Offsets that
    the checks report for a .docx index this text.
    """
    limit = MAX_DOCUMENT_BYTES * 5  # the XML markup is several times the text it holds
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if "word/document.xml" not in z.namelist():
                raise DocumentError("不是有效的 .docx 文件：缺少正文 word/document.xml")
            with z.open("word/document.xml") as f:
                xml = f.read(limit + 1)  # bounded: the size in the zip header may lie
    except DocumentError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError,
            zlib.error, OSError, ValueError):
        raise DocumentError("不是有效的 .docx 文件（无法作为 Word 文档打开）") from None
    if len(xml) > limit:
        raise DocumentError("文件正文过大")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        raise DocumentError("不是有效的 .docx 文件：正文 word/document.xml 已损坏") from None
    paragraphs = []
    stack = [iter(root)]
    while stack:  # not recursive: nesting depth is up to the file
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.tag == _W + "p":
            paragraphs.append("".join(t.text or "" for t in child.iter(_W + "t")))
        else:
            stack.append(iter(child))
    return "\n".join(paragraphs)


def read_document(path, data: bytes | None = None) -> str:
    """Text of a .txt (UTF-8, as decoded: no newline translation) or .docx file."""
    name = str(path)
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ("txt", "docx"):
        raise DocumentError("只能检查 .txt 或 .docx 文件")
    if data is None:
        with open(path, "rb") as f:
            data = f.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"文件过大（超过 {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB）")
    if suffix == "docx":
        return docx_text(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("不是 UTF-8 编码的文本文件") from None
