"""Our private attributes on sent images, off by default (the reference's appendix C).

One private block (PS3.5 7.8.1) in group 0009 under the creator :data:`PRIVATE_CREATOR`;
the element numbers follow the reference's table. Values are LO (at most 64 characters).

======  =====================  ==========================================================
elem    name                   value
======  =====================  ==========================================================
xx01    Request number         the send job's id (one request per send)
xx02    Examination number     the study's Accession Number, else its Study ID
xx04    Series ID              the image's Series Number
xx05    Series order           1-based position of the image's series in the send
xx06    File name              the stored file's name (server-generated, never a peer's)
xx07    Image data ID          the instance's row id in the index
======  =====================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

#: Private Creator Data Element value of our block (PS3.5 7.8.1).
PRIVATE_CREATOR = "LIGHTBOX_Ident_01"
#: The private group of the block.
GROUP = 0x0009


@dataclass(frozen=True)
class PrivateValues:
    """The values of one image's private block (see the module table)."""

    request_number: int
    examination_number: str
    series_id: str
    series_order: int
    file_name: str
    image_data_id: int


def add_private_attributes(ds: Dataset, values: PrivateValues) -> None:
    """Add (or replace) our private block on ``ds``; other creators' blocks are left alone."""
    block = ds.private_block(GROUP, PRIVATE_CREATOR, create=True)
    for element, value in (
        (0x01, str(values.request_number)),
        (0x02, values.examination_number),
        (0x04, values.series_id),
        (0x05, str(values.series_order)),
        (0x06, values.file_name),
        (0x07, str(values.image_data_id)),
    ):
        block.add_new(element, "LO", value[:64])


def read_private_attributes(ds: Dataset) -> dict[int, str]:
    """Our block's values by element number (01, 02, ...); empty when there is none."""
    try:
        block = ds.private_block(GROUP, PRIVATE_CREATOR)
    except KeyError:
        return {}
    return {e: str(block[e].value) for e in (0x01, 0x02, 0x04, 0x05, 0x06, 0x07) if e in block}
