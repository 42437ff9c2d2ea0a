import pytest

from relay.envelope import parse_envelope, serialize_envelope
from relay.errors import BadRequest


def test_items_with_length_may_contain_newlines():
    data = (
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n'
        b'{"type":"attachment","length":5}\na\nb\nc\n'
    )
    envelope = parse_envelope(data)
    assert envelope.headers.event_id == "9ec79c33ec9942ab8353589fcb2e04dc"
    assert [i.payload for i in envelope.items] == [b"a\nb\nc"]


def test_envelope_without_length_reads_to_newline():
    data = b'{}\n{"type":"event"}\n{"message":"hi"}\n{"type":"session"}\n{"sid":"x"}'
    envelope = parse_envelope(data)
    assert [(i.type, i.payload) for i in envelope.items] == [
        ("event", b'{"message":"hi"}'),
        ("session", b'{"sid":"x"}'),
    ]


def test_trailing_newline_is_optional_after_a_length_payload():
    with_newline = parse_envelope(b'{}\n{"type":"event","length":2}\n{}\n')
    without = parse_envelope(b'{}\n{"type":"event","length":2}\n{}')
    assert with_newline.items[0].payload == without.items[0].payload == b"{}"


def test_an_envelope_with_only_headers_is_valid():
    assert parse_envelope(b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}').items == []
    assert parse_envelope(b"{}\n").items == []


def test_unknown_item_headers_are_kept_verbatim():
    data = b'{}\n{"type":"attachment","length":1,"filename":"a.txt","x_custom":[1,2]}\nz\n'
    item = parse_envelope(data).items[0]
    assert item.headers.filename == "a.txt"
    assert b'"x_custom":[1,2]' in item.raw_headers


def test_a_length_beyond_the_body_is_a_bad_request_naming_the_item():
    with pytest.raises(BadRequest, match="item 0 declares length 50"):
        parse_envelope(b'{}\n{"type":"event","length":50}\n{}\n')


def test_a_payload_not_followed_by_newline_is_rejected():
    with pytest.raises(BadRequest, match="not followed by a newline"):
        parse_envelope(b'{}\n{"type":"event","length":1}\n{}\n')


def test_non_json_headers_are_bad_requests():
    with pytest.raises(BadRequest, match="envelope header"):
        parse_envelope(b"not json\n")
    with pytest.raises(BadRequest, match="header of item 1"):
        parse_envelope(b'{}\n{"type":"event","length":2}\n{}\nnope\n')


def test_item_header_without_type_is_rejected():
    with pytest.raises(BadRequest, match="header of item 0"):
        parse_envelope(b'{}\n{"length":2}\n{}\n')


def test_serialize_then_parse_round_trips():
    items = [({"type": "event"}, b'{"a":1}'), ({"type": "attachment", "filename": "f"}, b"x\ny")]
    envelope = parse_envelope(serialize_envelope({"event_id": "ab" * 16}, items))
    assert [(i.type, i.payload) for i in envelope.items] == [
        ("event", b'{"a":1}'),
        ("attachment", b"x\ny"),
    ]
