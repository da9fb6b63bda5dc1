"""Telegram's HTML subset and MarkdownV2: parsing to UTF-16 entities, errors, and rendering back."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.errors import ApiError
from bot.sandbox.html import parse_html, render_html, strip_text, utf16_len
from bot.sandbox.markdown import parse_markdown, parse_markdown_v2


def test_all_supported_tags() -> None:
    source = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"
        '<span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><code>c</code>'
        '<pre><code class="language-python">x</code></pre><a href="tg://user?id=42">m</a>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji><blockquote>bq</blockquote>'
        "<blockquote expandable>ex</blockquote>"
    )
    text, entities = parse_html(source)
    assert text == "bsieunskdpqcxm👍bqex"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 1),
        ("bold", 1, 1),
        ("italic", 2, 1),
        ("italic", 3, 1),
        ("underline", 4, 1),
        ("underline", 5, 1),
        ("strikethrough", 6, 1),
        ("strikethrough", 7, 1),
        ("strikethrough", 8, 1),
        ("spoiler", 9, 1),
        ("spoiler", 10, 1),
        ("code", 11, 1),
        ("pre", 12, 1),
        ("text_mention", 13, 1),
        ("custom_emoji", 14, 2),
        ("blockquote", 16, 2),
        ("expandable_blockquote", 18, 2),
    ]
    assert entities[12]["language"] == "python"
    assert entities[13]["user"]["id"] == 42
    assert entities[14]["custom_emoji_id"] == "5368324170671202286"


def test_offsets_are_utf16_code_units() -> None:
    text, entities = parse_html("🇹🇷 <b>İzmir 🌊</b> <i>ş</i>")
    assert text == "🇹🇷 İzmir 🌊 ş"
    assert entities == [
        {"offset": 5, "length": 8, "type": "bold"},
        {"offset": 14, "length": 1, "type": "italic"},
    ]
    assert utf16_len("🇹🇷") == 4


def test_character_references_and_bare_ampersand() -> None:
    assert parse_html("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#x27; &copy; & f")[0] == (
        "a & b <c> \"d\" 'e' &copy; & f"
    )


def test_nesting_and_attributes() -> None:
    text, entities = parse_html("<b>bold <i>both</i></b> <a href='https://x.y/?q=1&amp;r=2'>link</a>")
    assert text == "bold both link"
    assert entities[0] == {"offset": 0, "length": 9, "type": "bold"}
    assert entities[1] == {"offset": 5, "length": 4, "type": "italic"}
    assert entities[2]["url"] == "https://x.y/?q=1&r=2"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x <br> y", 'Unsupported start tag "br" at byte offset 2'),
        ("ş <p>", 'Unsupported start tag "p" at byte offset 3'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y', 'Unclosed start tag "a" at byte offset 0'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_parse_errors(source: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.code == 400
    assert caught.value.description == f"Bad Request: can't parse entities: {message}"


def test_strip_shrinks_entities() -> None:
    text, entities = strip_text(
        "  ab  ", [{"type": "bold", "offset": 0, "length": 4}, {"type": "italic", "offset": 5, "length": 1}]
    )
    assert (text, entities) == ("ab", [{"type": "bold", "offset": 0, "length": 2}])


def test_render_escapes_and_reopens_overlaps() -> None:
    assert render_html("a<b", []) == "a&lt;b"
    overlapping = [{"type": "bold", "offset": 0, "length": 3}, {"type": "italic", "offset": 2, "length": 3}]
    assert render_html("abcde", overlapping) == "<b>ab<i>c</i></b><i>de</i>"
    assert render_html("😀 x", [{"type": "bold", "offset": 3, "length": 1}]) == "😀 <b>x</b>"
    pre = [{"type": "pre", "offset": 0, "length": 3, "language": "py"}]
    assert render_html("x=1", pre) == '<pre><code class="language-py">x=1</code></pre>'


plain_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(plain_text)
def test_escaped_text_parses_to_itself(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])


@st.composite
def markup(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        if depth < 3 and draw(st.booleans()):
            tag = draw(st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler", "blockquote"]))
            parts.append(f"<{tag}>{draw(markup(depth + 1))}</{tag}>")
        else:
            parts.append(html.escape(draw(plain_text)))
    return "".join(parts)


@given(markup())
def test_render_then_parse_gives_the_same_text_and_entities(source: str) -> None:
    text, entities = parse_html(source)
    assert parse_html(render_html(text, entities)) == (text, entities)


def test_markdown_v2() -> None:
    text, entities = parse_markdown_v2("*b* _i_ __u__ ~s~ ||p|| `c` [l](https://x.y) \\*")
    assert text == "b i u s p c l *"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    for bad in ["1.5", "a-b", "(x)", "*open"]:
        with pytest.raises(ApiError):
            parse_markdown_v2(bad)


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* _i_ 1.5-2") == (
        "b i 1.5-2",
        [{"type": "bold", "offset": 0, "length": 1}, {"type": "italic", "offset": 2, "length": 1}],
    )
    with pytest.raises(ApiError):
        parse_markdown("*open")
