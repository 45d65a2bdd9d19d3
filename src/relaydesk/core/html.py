"""HTML that reps (or their helpdesks) send, reduced to safe formatting before it is stored."""

from __future__ import annotations

import nh3

TAGS = {"a", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre", "s", "strong", "u", "ul"}

_CLEANER = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags={"script", "style"},
    attributes={"a": {"href", "title"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={"a": {"target": "_blank"}},
)


def sanitize_rep_html(html: str | None) -> str | None:
    """A short list of formatting tags, links to web and mail addresses only; None stays None."""
    if html is None:
        return None
    return _CLEANER.clean(html)
