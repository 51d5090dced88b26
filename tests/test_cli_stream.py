"""Commands print long lists as they read them (`core.cli.stream_json`, `stream_csv`,
`stream_table`): the bytes are exactly those of the whole-list writers (`to_json`, `to_csv`,
`table`), for any length and batch."""
import io

from django.core.management.base import OutputWrapper
from hypothesis import given, settings
from hypothesis import strategies as st

from dangjian.core.cli import stream_csv, stream_json, stream_table, table, to_csv, to_json

TEXT = st.text(alphabet=st.sampled_from(list("ab名=+-\u202e\x01\n\"")), max_size=6)
SCALAR = st.one_of(TEXT, st.integers(-5, 5), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False))
# Flat rows (every command's: written by the fast path) and rows json must write (nested).
ROW = st.one_of(
    st.dictionaries(TEXT, st.one_of(SCALAR, st.lists(SCALAR, max_size=3)), max_size=4),
    st.fixed_dictionaries({"code": TEXT, "n": st.integers(-5, 5), "ids": st.lists(st.integers(0, 9), max_size=3),
                           "nested": st.fixed_dictionaries({"x": st.lists(TEXT, max_size=2)})}),
)


def printed(write) -> str:
    buf = io.StringIO()
    write(OutputWrapper(buf))
    return buf.getvalue()


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(ROW, max_size=9), indent=st.sampled_from([None, 1, 2]), batch=st.integers(1, 4))
def test_streamed_json_is_byte_for_byte_the_whole_list(rows, indent, batch):
    whole = printed(lambda out: out.write(to_json(rows, indent=indent)))
    streamed = printed(lambda out: stream_json(out, iter(rows), indent=indent, batch=batch))
    assert streamed == whole


KEYS = ("org_code", "名称", "n", "ids", "x")
RECORD = st.tuples(TEXT, TEXT, st.integers(-10**12, 10**12), st.lists(st.integers(-3, 10**9), max_size=3),
                   st.one_of(SCALAR, st.lists(SCALAR, max_size=2), st.fixed_dictionaries({"y": TEXT})))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(RECORD, max_size=9), indent=st.sampled_from([None, 1, 2]), batch=st.integers(1, 4))
def test_streamed_records_are_byte_for_byte_the_dicts(rows, indent, batch):
    """Rows given as value tuples with their keys print exactly as the dicts would."""
    whole = printed(lambda out: out.write(to_json([dict(zip(KEYS, r)) for r in rows], indent=indent)))
    streamed = printed(lambda out: stream_json(out, iter(rows), indent=indent, batch=batch, keys=KEYS))
    assert streamed == whole


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(TEXT, st.integers(-5, 5), TEXT), max_size=9), batch=st.integers(1, 4))
def test_streamed_csv_is_byte_for_byte_the_whole_list(rows, batch):
    header = ["代码", "n", "text"]
    whole = printed(lambda out: out.write(to_csv(header, [list(r) for r in rows])))
    streamed = printed(lambda out: stream_csv(out, header, (list(r) for r in rows), batch=batch))
    assert streamed == whole


CELL = st.one_of(st.text(alphabet=st.sampled_from(list("ab名 =\u202e\x01\x1b\n\t\ud800")), max_size=6),
                 st.integers(-5, 500))


@settings(max_examples=200, deadline=None)
@given(width=st.integers(1, 4), data=st.data(), batch=st.integers(1, 4))
def test_streamed_table_is_byte_for_byte_the_whole_table(width, data, batch):
    """Chinese (two columns wide), control characters, a lone surrogate, empty rows whose line
    is stripped to nothing: the same text and the same final line ending."""
    rows = data.draw(st.lists(st.tuples(*[CELL] * width), min_size=1, max_size=9))
    whole = printed(lambda out: out.write(table(rows)))
    streamed = printed(lambda out: stream_table(out, iter(rows), batch=batch))
    assert streamed == whole
    assert stream_table(OutputWrapper(io.StringIO()), iter(rows)) == len(rows) - 1
