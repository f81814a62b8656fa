"""Character set helpers: case folding and the response's Specific Character Set (PS3.4 C.4.1.1.3.2)."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue

from app.dicom.charsets import UTF8, charset_terms, declare, encodable, fold_case, response_charset


def test_fold_case_lowers_non_ascii_and_keeps_wildcards_and_length() -> None:
    assert fold_case("MÜLLER^HANS") == "müller^hans"
    assert fold_case("ÄNEAS^RÜDIGER*") == "äneas^rüdiger*"
    # Sigma folds alike in the middle and at the end of a word: a prefix key ending in Σ
    # still matches the name it begins.
    assert fold_case("Διονυσιος") == "διονυσιοσ"
    assert fold_case("Διονυσιος").startswith(fold_case("ΔΙΟΝΥΣ"))
    # One character stays one character (a ``?`` wildcard still stands for it).
    assert fold_case("STRAßE") == "straße" and fold_case("STRAẞE") == "straße"


def test_charset_terms_of_every_shape() -> None:
    assert charset_terms(None) == ()
    assert charset_terms("") == ()
    assert charset_terms("ISO_IR 100") == ("ISO_IR 100",)
    assert charset_terms(MultiValue(str, ["", "ISO 2022 IR 87"])) == ("", "ISO 2022 IR 87")
    assert charset_terms("\\ISO 2022 IR 87") == ("", "ISO 2022 IR 87")
    assert charset_terms(b"ISO_IR 192 ") == ("ISO_IR 192",)


def test_encodable_per_repertoire() -> None:
    assert encodable("Müller", "ISO_IR 100")
    assert not encodable("Müller", None)  # default repertoire: ASCII only
    assert not encodable("山田", "ISO_IR 100")
    assert encodable("Yamada^Tarou=山田^太郎=やまだ^たろう", ["", "ISO 2022 IR 87"])
    # ISO 2022 IR 13 is half-width katakana only: kanji need IR 87 too.
    assert encodable("ﾔﾏﾀﾞ^ﾀﾛｳ", ["ISO 2022 IR 13"])
    assert not encodable("ﾔﾏﾀﾞ^ﾀﾛｳ=山田", ["ISO 2022 IR 13"])
    assert encodable("ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎", ["ISO 2022 IR 13", "ISO 2022 IR 87"])
    assert encodable("Wang^XiaoDong=王^小東", UTF8)
    assert not encodable("Müller", "ISO_IR 999")  # unknown term


def test_response_charset_ascii_echo_or_utf8() -> None:
    # Every value ASCII: no Specific Character Set at all ("shall not be included otherwise").
    assert response_charset(["Doe^John", None, 3, ["CT", "MR"]], "ISO_IR 100") is None
    # Representable in the request's character set: echoed.
    assert response_charset(["Müller^Anna"], "ISO_IR 100") == ("ISO_IR 100",)
    assert response_charset(["やまだ^たろう"], ["", "ISO 2022 IR 87"]) == ("", "ISO 2022 IR 87")
    # Not representable, or no character set in the request: UTF-8.
    assert response_charset(["Müller^Anna", "山田"], "ISO_IR 100") == (UTF8,)
    assert response_charset(["Müller^Anna"], None) == (UTF8,)
    assert declare(("", "ISO 2022 IR 87")) == ["", "ISO 2022 IR 87"]
    assert declare((UTF8,)) == UTF8 and declare(None) is None


@pytest.mark.parametrize("name", ["chrH31.dcm", "chrH32.dcm", "chrI2.dcm", "chrX2.dcm", "chrGerm.dcm", "chrRuss.dcm"])
def test_echoed_charset_reencodes_pydicom_test_names_byte_for_byte(name: str) -> None:
    """A name decoded from pydicom's character-set test file and encoded again in the
    declared character set gives the file's bytes back (padding aside)."""
    source = dcmread(get_charset_files(name)[0])
    raw = source.get_item("PatientName").value
    terms = response_charset([str(source.PatientName)], source.SpecificCharacterSet)
    assert terms == charset_terms(source.SpecificCharacterSet)
    ds = Dataset()
    ds.SpecificCharacterSet = declare(terms)
    ds.PatientName = str(source.PatientName)
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    written = read_dataset(BytesIO(buffer.getvalue()), is_implicit_VR=False, is_little_endian=True)
    # An empty trailing component group (chrX2's ``=``) is equivalent to none (PS3.5 6.2).
    assert written.get_item("PatientName").value.rstrip(b" =") == raw.rstrip(b" =")
