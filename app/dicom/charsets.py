"""Character sets of text values: case folding for matching, and the Specific Character Set
(0008,0005) a response declares (PS3.5 6.1, PS3.4 C.2.2.2.1, C.4.1.1.3.2).

Received data sets are stored as they came; the index holds their text values *decoded*
(Unicode, with pydicom's character set tables, ISO 2022 escape sequences included), so
values of every character set are matched and returned alike.

Matching. Person names match case-insensitively (PS3.4 C.2.2.2.1 allows it; the reference
does it): the stored value and the key are both lowered with :func:`fold_case`, in Python,
because SQL ``lower()`` (SQLite's) folds ASCII letters only (``Ü`` would stay ``Ü``).
Folding is character by character, so that one character stays one character (a ``?``
stands for it) and a letter folds alike wherever it is: ``str.casefold`` of each character
when that is one character (``Σ`` and the final ``ς`` both give ``σ``; ``str.lower`` of a
whole word would turn a prefix key ``ΔΙΟΝΥΣ*`` into ``διονυς*``, missing ``Διονυσιος``),
else ``str.lower`` (``ß`` stays ``ß`` rather than becoming ``ss``).

Responses. A response identifier includes Specific Character Set only when one of its
values is not ASCII (PS3.4 C.4.1.1.3.2: "shall not be included otherwise"); it then echoes
the request's character set when that can represent every value (an SCU that asked in
ISO_IR 100 gets ISO_IR 100 back, an ISO 2022 IR 87 request gets its Japanese names in ISO
2022 IR 87), and otherwise declares ISO_IR 192 (UTF-8), which represents anything (the SCP
may answer in another character set than the request's, C.4.1.1.3.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from pydicom.charset import python_encoding
from pydicom.multival import MultiValue

#: Unicode in UTF-8 (PS3.3 C.12.1.1.2, Table C.12-5).
UTF8 = "ISO_IR 192"

#: Terms naming the default repertoire (ISO-IR 6, ASCII).
_DEFAULT_TERMS = frozenset({"", "ISO_IR 6", "ISO 2022 IR 6"})


def fold_case(text: str) -> str:
    """``text`` as compared in case-insensitive matching (person names, PS3.4 C.2.2.2.1).

    Used on both sides: at ingest for the stored ``*_lc`` column, and on the key. Wildcards
    (``*``, ``?``) and component separators are unchanged.
    """
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    folded = ch.casefold()
    return folded if len(folded) == 1 else ch.lower()


def charset_terms(value: Any) -> tuple[str, ...]:
    """The defined terms of a Specific Character Set value (a string, a multi-value or None).

    A missing or empty value gives ``()`` (the default repertoire). Terms are stripped; the
    first term may be empty (ISO 2022 with the default repertoire in G0, PS3.3 C.12.1.1.2).
    """
    if value is None:
        return ()
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").split("\\")
    if isinstance(value, str):
        value = value.split("\\")
    if isinstance(value, MultiValue | list | tuple):
        terms = tuple(str(v).strip() for v in value)
    else:
        terms = (str(value).strip(),)
    return () if all(not t for t in terms) else terms


@lru_cache(maxsize=64)
def _codecs(terms: tuple[str, ...]) -> tuple[str, ...] | None:
    """Python codecs of the terms, ``ascii`` for the default repertoire; None if one is unknown."""
    if not terms:
        return ("ascii",)
    out = []
    for term in terms:
        if term in _DEFAULT_TERMS:
            out.append("ascii")
            continue
        codec = python_encoding.get(term)
        if codec is None:
            return None
        out.append(codec)
    return tuple(out)


def _encodes(ch: str, codec: str) -> bool:
    try:
        encoded = ch.encode(codec)
    except (UnicodeError, LookupError):
        return False
    # ISO 2022 IR 13 is JIS X 0201 only (one byte a character); Python's shift_jis codec
    # would also take the two-byte JIS X 0208 characters, which need ISO 2022 IR 87.
    return codec != "shift_jis" or len(encoded) == 1


def encodable(text: str, charset: Any) -> bool:
    """Whether every character of ``text`` can be encoded in ``charset`` (PS3.5 6.1).

    ``charset`` is a Specific Character Set value; with several terms (ISO 2022 code
    extensions) each character may come from any of them. An unknown term gives False.
    """
    if text.isascii():
        return True
    codecs = _codecs(charset_terms(charset))
    if codecs is None:
        return False
    return all(ch.isascii() or any(_encodes(ch, codec) for codec in codecs) for ch in set(text))


def _texts(values: Iterable[Any]) -> Iterable[str]:
    for value in values:
        if isinstance(value, MultiValue | list | tuple):
            yield from _texts(value)
        elif value is not None and not isinstance(value, int | float | bytes):
            yield str(value)


def response_charset(values: Iterable[Any], requested: Any = None) -> tuple[str, ...] | None:
    """The Specific Character Set a response carrying ``values`` declares (PS3.4 C.4.1.1.3.2).

    Parameters
    ----------
    values
        The response's values (decoded text; lists, numbers and None are fine).
    requested
        The request's Specific Character Set, if any.

    Returns
    -------
    tuple of str or None
        None when every value is ASCII (the attribute is left out); the request's terms when
        they can represent every value; else ``("ISO_IR 192",)``.
    """
    wide = [text for text in _texts(values) if not text.isascii()]
    if not wide:
        return None
    terms = charset_terms(requested)
    if terms and all(encodable(text, terms) for text in wide):
        return terms
    return (UTF8,)


def declare(terms: Sequence[str] | None) -> str | list[str] | None:
    """A :func:`response_charset` result as a value to set on a pydicom data set."""
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else list(terms)
