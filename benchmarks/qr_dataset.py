"""The Q/R benchmarks' data: N synthetic studies, their three C-FIND queries, and loading
them into Lightbox's index (the real ingest, in process) and into DCMTK ``dcmqrscp``'s
(``dcmqridx``), cached on disk between runs.

Each study has one patient, one CT series and one small image (16 x 16, 16 bit), so the
study count is what grows. The data are deterministic (UIDs derive from the study number)
and built so that, whatever N (at least 200), the queries match a fixed number of studies:

- ``PatientID`` of one study: 1 match;
- ``StudyDate`` range ``20190301-20190302``: 100 matches (every other study is dated
  between 2010 and early 2018);
- ``PatientName`` ``SMITH*`` (prefix wildcard): 30 matches (no other family name starts
  with SMITH).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.uid import PYDICOM_ROOT_UID, CTImageStorage, ExplicitVRLittleEndian
from store_throughput import dcmtk_env

from app.dicom.file_meta import file_meta_bytes

#: Bump when the generated data change, so that caches of older data are not reused.
DATA_VERSION = 1
DATE_MATCHES = 100
NAME_MATCHES = 30
DATE_RANGE = "20190301-20190302"
NAME_PREFIX = "SMITH*"
_FAMILIES = (
    "JONES", "BROWN", "TAYLOR", "WILSON", "DAVIES", "EVANS", "THOMAS", "JOHNSON", "ROBERTS", "WALKER",
    "WRIGHT", "ROBINSON", "THOMPSON", "WHITE", "HUGHES", "EDWARDS", "GREEN", "HALL", "WOOD", "HARRIS",
    "LEWIS", "MARTIN", "JACKSON", "CLARKE", "CLARK", "TURNER", "HILL", "SCOTT", "COOPER", "MORRIS",
    "WARD", "MOORE", "KING", "WATSON", "BAKER", "HARRISON", "MORGAN", "PATEL", "YOUNG", "ALLEN",
    "MITCHELL", "JAMES", "ANDERSON", "PHILLIPS", "LEE", "BELL", "PARKER", "DAVIS", "MILLER", "GARCIA",
)
_SMITHS = ("SMITH", "SMITHSON", "SMITHERS")
_GIVEN = ("ANNA", "JOHN", "MARY", "PAUL", "LUCY", "MARK", "SARA", "IVAN", "NORA", "OMAR", "EMMA", "LIAM", "ZOE")
_UID_ROOT = f"{PYDICOM_ROOT_UID}7740."
_FIRST_DATE = dt.date(2010, 1, 1)


def _spread(count: int, total: int, offset: float) -> frozenset[int]:
    """``count`` study numbers spread evenly over ``range(total)``."""
    return frozenset(int((k + offset) * total / count) for k in range(count))


@dataclass(frozen=True)
class Query:
    """One study-level C-FIND: its matching keys and how many studies it must match."""

    name: str
    keys: tuple[tuple[str, str], ...]
    expected: int


#: Return keys of every query (universal matching), as a PACS worklist view asks for them.
RETURN_KEYS = (
    "StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "AccessionNumber", "StudyID", "StudyDescription", "ReferringPhysicianName",
)


@dataclass(frozen=True)
class StudySet:
    """``studies`` synthetic studies (see the module docstring)."""

    studies: int

    def __post_init__(self) -> None:
        if self.studies < 200:
            raise SystemExit("use at least 200 studies (the queries need 100 + 30 distinct ones)")

    @cached_property
    def _dated(self) -> frozenset[int]:
        return _spread(DATE_MATCHES, self.studies, 0.25)

    @cached_property
    def _smiths(self) -> frozenset[int]:
        return _spread(NAME_MATCHES, self.studies, 0.6)

    def queries(self) -> list[Query]:
        """The three queries of the benchmark, with their expected match counts."""
        one = int(self.studies * 0.77)
        return [
            Query("1 match (PatientID)", (("PatientID", self.patient_id(one)),), 1),
            Query(f"{DATE_MATCHES} matches (StudyDate range)", (("StudyDate", DATE_RANGE),), DATE_MATCHES),
            Query(f"prefix wildcard (PatientName {NAME_PREFIX})", (("PatientName", NAME_PREFIX),), NAME_MATCHES),
        ]

    @staticmethod
    def patient_id(i: int) -> str:
        return f"P{i:07d}"

    def values(self, i: int) -> dict[str, str]:
        """The per-study attributes of study ``i``, by keyword."""
        family = _SMITHS[i % len(_SMITHS)] if i in self._smiths else _FAMILIES[i % len(_FAMILIES)]
        if i in self._dated:
            date = "20190301" if i % 2 else "20190302"
        else:
            date = (_FIRST_DATE + dt.timedelta(days=(i * 7919) % 3000)).strftime("%Y%m%d")
        return {
            "SOPInstanceUID": f"{_UID_ROOT}{i}.3",
            "StudyDate": date,
            "SeriesDate": date,
            "ContentDate": date,
            "StudyTime": f"{(i * 7) % 24:02d}{(i * 11) % 60:02d}{(i * 13) % 60:02d}",
            "AccessionNumber": f"A{i:08d}",
            "ReferringPhysicianName": f"{_FAMILIES[(i * 3) % len(_FAMILIES)]}^DR",
            "StudyDescription": ("CT CHEST", "CT ABDOMEN", "CT HEAD", "CT PELVIS")[i % 4],
            "PatientName": f"{family}^{_GIVEN[(i // len(_FAMILIES)) % len(_GIVEN)]}",
            "PatientID": self.patient_id(i),
            "PatientBirthDate": (dt.date(1940, 1, 1) + dt.timedelta(days=(i * 37) % 25000)).strftime("%Y%m%d"),
            "PatientSex": "FM"[i % 2],
            "StudyInstanceUID": f"{_UID_ROOT}{i}.1",
            "SeriesInstanceUID": f"{_UID_ROOT}{i}.2",
            "StudyID": str(i % 100000),
        }

    def encoded(self) -> Iterator[tuple[str, bytes]]:
        """(SOP Instance UID, data set in explicit VR little endian, no file meta) of each study.

        The constant elements are encoded once by pydicom; the per-study ones (all short
        text VRs) are encoded here, which keeps 100,000 studies to seconds.
        """
        constant = []
        for element in template_dataset():
            buffer = DicomBytesIO()
            buffer.is_little_endian, buffer.is_implicit_VR = True, False
            write_data_element(buffer, element)
            constant.append((int(element.tag), buffer.getvalue()))
        for i in range(self.studies):
            values = self.values(i)
            elements = constant + [_short_element(keyword, value) for keyword, value in values.items()]
            elements.sort(key=lambda item: item[0])
            yield values["SOPInstanceUID"], b"".join(data for _, data in elements)


def _short_element(keyword: str, value: str) -> tuple[int, bytes]:
    """(tag, explicit VR little endian encoding) of a text element with a 2-byte length (PS3.5 7.1.2)."""
    tag = int(tag_for_keyword(keyword) or 0)
    vr = dictionary_VR(tag)
    data = value.encode("ascii")
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return tag, struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode("ascii"), len(data)) + data


def template_dataset() -> Dataset:
    """A small CT image (16 x 16, 16 bit) without the per-study attributes."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.Manufacturer = "LIGHTBOX BENCH"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.PixelData = struct.pack("<256H", *range(0, 4096, 16))
    ds["PixelData"].VR = "OW"
    return ds


# -- caches -----------------------------------------------------------------------------


def _cached(folder: Path) -> bool:
    return (folder / "COMPLETE.json").is_file()


def _mark(folder: Path, **info: object) -> None:
    (folder / "COMPLETE.json").write_text(json.dumps(info, indent=2))


def build_info(folder: Path) -> dict[str, object]:
    """What building a cached folder took (studies, seconds), as recorded when it was built."""
    info: dict[str, object] = json.loads((folder / "COMPLETE.json").read_text())
    return info


def lightbox_data_dir(cache: Path, studies: StudySet) -> Path:
    """A Lightbox data directory holding ``studies``, indexed by the real ingest (cached).

    Each data set goes through :meth:`app.server.context.Ingest.store_encoded`, what the
    Storage SCP calls for a C-STORE (file written, parsed, indexed), with fsync off.
    """
    folder = cache / f"v{DATA_VERSION}" / f"lightbox-{studies.studies}"
    if _cached(folder):
        return folder
    from app.core.config import ServerConfig
    from app.server.context import Ingest
    from app.server.index.stores import open_index
    from app.server.storage import Storage

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = ServerConfig(data_dir=folder, fsync=False)
    storage = Storage(folder / "storage", fsync=False)
    index = open_index(config.effective_index_url())
    ingest = Ingest(config, storage, index.catalogue)
    start = time.perf_counter()
    try:
        for n, (sop_uid, data) in enumerate(studies.encoded(), 1):
            outcome = ingest.store_encoded(
                data, transfer_syntax=ExplicitVRLittleEndian, sop_class_uid=CTImageStorage,
                sop_instance_uid=sop_uid, source_ae="BENCH", called_ae="DICOM_STORAGE",
            )
            if not outcome.stored:
                raise SystemExit(f"ingest refused study {n}: 0x{outcome.status:04X} {outcome.comment}")
            if n % 10000 == 0:
                print(f"  lightbox: {n} studies indexed ({time.perf_counter() - start:.0f} s)", flush=True)
    finally:
        index.close()
        storage.close()
    seconds = time.perf_counter() - start
    print(f"  lightbox: {studies.studies} studies indexed in {seconds:.0f} s under {folder}")
    _mark(folder, studies=studies.studies, seconds=round(seconds, 1))
    return folder


def dcmqrscp_area(cache: Path, studies: StudySet) -> Path:
    """A ``dcmqrscp`` storage area holding ``studies`` as files, indexed with ``dcmqridx`` (cached)."""
    folder = cache / f"v{DATA_VERSION}" / f"dcmqrscp-{studies.studies}"
    if _cached(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    files: list[str] = []
    for n, (sop_uid, data) in enumerate(studies.encoded()):
        path = folder / f"CT{n:07d}.dcm"
        meta = file_meta_bytes(ExplicitVRLittleEndian, CTImageStorage, sop_uid, "BENCH", "DCMQRSCP")
        path.write_bytes(meta + data)
        files.append(str(path))
    for chunk in range(0, len(files), 1000):
        result = subprocess.run(
            ["dcmqridx", str(folder), *files[chunk : chunk + 1000]], env=dcmtk_env(), capture_output=True, text=True
        )
        if result.returncode != 0:
            # DCMTK 3.6.7's dcmqridx aborts ("double free or corruption") past 500 studies.
            raise SystemExit(
                f"dcmqridx failed (exit {result.returncode}) indexing {studies.studies} studies; dcmqrscp holds at "
                f"most 500 per storage area: {(result.stderr or result.stdout).strip()[-300:]}"
            )
    seconds = time.perf_counter() - start
    print(f"  dcmqrscp: {studies.studies} studies written and indexed in {seconds:.0f} s under {folder}")
    _mark(folder, studies=studies.studies, seconds=round(seconds, 1))
    return folder
