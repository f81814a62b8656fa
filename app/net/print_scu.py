"""Print SCU: one composed film printed over one association (PS3.4 H; reference 3.3, Tables 3.1-3.4).

The job runs in the reference's order, one request at a time: N-GET Printer (all of Table 3.2
or the minimal set of Table 3.3); NORMAL continues, WARNING continues and keeps Printer Status
Info for the user, FAILURE stops. A printer that refuses some requested attributes (0x0105 No
Such Attribute; DCMTK's print SCP does so for Printer Name) is asked again for the others and
printed to. Then N-CREATE Basic Film Session, N-CREATE Presentation LUT (when given), N-CREATE
Basic Film Box (``STANDARD\\1,1``, referencing the session and the LUT), N-SET of its one
Basic Grayscale Image Box with the film image, N-ACTION print on the film box, and N-DELETE of
the film box and the film session. Each response is kept as a
:class:`~app.net.print_statuses.StepOutcome` with its meaning; after a failure the objects
already created are deleted and the outcome says what was and was not done. Only a failed
association raises (:class:`~app.net.association.AssociationError`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscaleImageBox,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
    Printer,
    PrinterInstance,
)

from app.dicom.uids import generate_uid
from app.net.association import Peer, ScuSettings, associated
from app.net.print_statuses import StepOutcome

#: Reference Table 3.2: N-GET Printer, all attributes.
PRINTER_ATTRIBUTES_ALL = (
    "PrinterStatus", "PrinterStatusInfo", "PrinterName", "Manufacturer", "ManufacturerModelName",
    "DeviceSerialNumber", "SoftwareVersions", "DateOfLastCalibration", "TimeOfLastCalibration",
)
#: Reference Table 3.3: N-GET Printer, the minimal set.
PRINTER_ATTRIBUTES_MINIMAL = PRINTER_ATTRIBUTES_ALL[:3]
#: The two Printer attributes a printer must return (PS3.4 H.4.11.1.1: Type 1 for the SCP).
PRINTER_ATTRIBUTES_REQUIRED = PRINTER_ATTRIBUTES_ALL[:2]
_REFUSED_ATTRIBUTE_STATUSES = (0x0105, 0x0106, 0x0107, 0x0116)
_REFUSED_NOTE = "some requested attributes are not supported; the others are used"
_PRINT_ACTION = 1  # N-ACTION Action Type ID "Print" (PS3.4 H.4.2.2.4)


@dataclass(frozen=True, eq=False)
class FilmJob:
    """What to print: the film image and the attributes of the objects to create (PS3.3 C.13)."""

    pixels: np.ndarray  # uint8 (8 bits) or uint16 (12 bits), MONOCHROME2
    bits: int
    session: Dataset  # Basic Film Session N-CREATE attributes
    film_box: Dataset  # Basic Film Box N-CREATE attributes (without the references and display format)
    polarity: str = "NORMAL"
    presentation_lut: Dataset | None = None  # Presentation LUT N-CREATE attributes; None: not created
    printer_attributes: tuple[str, ...] = PRINTER_ATTRIBUTES_ALL
    implicit_vr_only: bool = False
    max_pdu: int = 16384


@dataclass(frozen=True)
class PrinterState:
    """What N-GET Printer returned (PS3.3 C.13.9): status, status info and the other attributes."""

    status: str
    info: str
    attributes: dict[str, str]
    refused: tuple[str, ...] = ()

    def describe(self) -> str:
        """``Printer 'NAME': STATUS (info)``; the name when the printer returned one."""
        name = self.attributes.get("PrinterName") or self.attributes.get("ManufacturerModelName") or ""
        info = f" ({self.info})" if self.info else ""
        return f"Printer{f' {name!r}' if name else ''}: {self.status or 'status unknown'}{info}"


@dataclass(frozen=True)
class PrintOutcome:
    """The outcome of one print job: whether the film was printed, and every response on the way."""

    printed: bool
    printer: PrinterState | None
    steps: tuple[StepOutcome, ...]
    message: str
    cleaned_up: bool = True
    film_session_uid: str = ""
    film_box_uid: str = ""
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """The printer status, each step's meaning and the conclusion, for the user."""
        out = [self.printer.describe()] if self.printer is not None else []
        return out + [s.describe() for s in self.steps] + [self.message]


def _syntaxes(job: FilmJob) -> tuple[str, ...]:
    if job.implicit_vr_only:
        return (ImplicitVRLittleEndian,)
    return (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def _image_box_set(job: FilmJob) -> Dataset:
    """Basic Grayscale Image Box N-SET attributes (PS3.3 C.13.5): position 1, polarity, the film image."""
    rows, columns = job.pixels.shape
    image = Dataset()
    image.SamplesPerPixel = 1
    image.PhotometricInterpretation = "MONOCHROME2"
    image.Rows, image.Columns = rows, columns
    image.PixelAspectRatio = [1, 1]
    image.BitsAllocated = 8 if job.bits == 8 else 16
    image.BitsStored = job.bits
    image.HighBit = job.bits - 1
    image.PixelRepresentation = 0
    dtype = "<u1" if job.bits == 8 else "<u2"
    image.PixelData = np.ascontiguousarray(job.pixels, dtype=dtype).tobytes()
    image["PixelData"].VR = "OB" if job.bits == 8 else "OW"
    box = Dataset()
    box.ImageBoxPosition = 1
    box.Polarity = job.polarity
    box.BasicGrayscaleImageSequence = [image]
    return box


def _reference(class_uid: str, instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    return item


def _printer_state(attrs: Dataset | None, refused: tuple[str, ...]) -> PrinterState:
    values = {}
    for elem in attrs or []:
        if elem.keyword and elem.value not in (None, ""):
            values[elem.keyword] = str(elem.value)
    status = values.pop("PrinterStatus", "").strip().upper()
    return PrinterState(status, values.pop("PrinterStatusInfo", "").strip(), values, refused)


class _Job:
    """One print job on an established association (see the module docstring)."""

    def __init__(self, assoc: Any, job: FilmJob) -> None:
        self.assoc, self.job = assoc, job
        self.steps: list[StepOutcome] = []
        self.msg_id = 0

    def step(self, operation: str, status: Dataset, refused_note: str = "") -> StepOutcome:
        """Record the response; ``refused_note`` explains a refused-attributes status (where it is one)."""
        code = int(status.Status) if "Status" in status else None
        comment = str(status.get("ErrorComment", "") or "")
        if refused_note and code in _REFUSED_ATTRIBUTE_STATUSES:
            comment = "; ".join(c for c in (comment, refused_note) if c)
        outcome = StepOutcome(operation, code, comment)
        self.steps.append(outcome)
        return outcome

    def next_id(self) -> int:
        self.msg_id += 1
        return self.msg_id

    def printer(self) -> tuple[PrinterState | None, StepOutcome]:
        """N-GET Printer; when some attributes are refused and none came back, asks again without
        them (those listed in Attribute Identifier List (0000,1005), else all but the two the
        standard makes mandatory, Printer Status and Printer Status Info)."""
        wanted = list(self.job.printer_attributes)
        outcome, attrs, status = self._get("N-GET Printer", wanted)
        if outcome.status not in _REFUSED_ATTRIBUTE_STATUSES:
            return (_printer_state(attrs, ()) if outcome.ok else None), outcome
        listed = status.get((0x0000, 0x1005))
        named = {int(Tag(t)) for t in (listed.value if listed is not None else [])}
        if not attrs:
            keep = [k for k in wanted if int(Tag(k)) not in named] if named else list(PRINTER_ATTRIBUTES_REQUIRED)
            outcome, attrs, _ = self._get("N-GET Printer (without the refused attributes)", keep)
            if not outcome.ok and outcome.status not in _REFUSED_ATTRIBUTE_STATUSES:
                return None, outcome
        returned = {e.keyword for e in attrs or []}
        return _printer_state(attrs, tuple(k for k in wanted if k not in returned)), outcome

    def send(self, operation: str, call: Any, refused_note: str = "") -> tuple[StepOutcome, Dataset | None]:
        """Send one request (``call(msg_id)``) and record its response; a request the association can no
        longer carry (the printer aborted or timed out) is recorded as not answered, not sent."""
        if not self.assoc.is_established:
            outcome = StepOutcome(operation, None, "not sent: the association had ended")
            self.steps.append(outcome)
            return outcome, None
        response = call(self.next_id())
        status, attrs = response if isinstance(response, tuple) else (response, None)
        return self.step(operation, status, refused_note), attrs

    def _get(self, operation: str, keywords: list[str]) -> tuple[StepOutcome, Dataset | None, Dataset]:
        statuses: list[Dataset] = []

        def call(msg_id: int) -> tuple[Dataset, Dataset | None]:
            status, attrs = self.assoc.send_n_get(
                [Tag(k) for k in keywords], Printer, PrinterInstance, msg_id=msg_id,
                meta_uid=BasicGrayscalePrintManagementMeta)
            statuses.append(status)
            return status, attrs

        outcome, attrs = self.send(operation, call, _REFUSED_NOTE)
        return outcome, attrs, statuses[0] if statuses else Dataset()

    def create(self, operation: str, ds: Dataset, class_uid: UID) -> tuple[str, StepOutcome, Dataset | None]:
        uid = generate_uid()
        meta = None if class_uid == PresentationLUT else BasicGrayscalePrintManagementMeta
        outcome, attrs = self.send(
            operation, lambda msg_id: self.assoc.send_n_create(ds, class_uid, uid, msg_id=msg_id, meta_uid=meta))
        return uid, outcome, attrs

    def delete(self, operation: str, class_uid: UID, uid: str) -> StepOutcome:
        return self.send(operation, lambda msg_id: self.assoc.send_n_delete(
            class_uid, uid, msg_id=msg_id, meta_uid=BasicGrayscalePrintManagementMeta))[0]


def print_film(address: Peer, job: FilmJob, calling_ae_title: str, timeout: float = 30.0) -> PrintOutcome:
    """Print ``job`` on the printer at ``address`` over one association (see the module docstring).

    Raises
    ------
    AssociationError
        When the association is refused, rejected, aborted or cannot be made: nothing was printed.
    """
    started = time.perf_counter()
    syntaxes = [BasicGrayscalePrintManagementMeta] + ([PresentationLUT] if job.presentation_lut is not None else [])
    settings = ScuSettings(calling_ae_title, job.max_pdu, timeout)
    with associated(settings, address, syntaxes, _syntaxes(job)) as assoc:
        outcome = _run(_Job(assoc, job))
    return replace(outcome, seconds=time.perf_counter() - started)


def _run(run: _Job) -> PrintOutcome:
    job = run.job
    printer, got = run.printer()
    warnings: list[str] = []

    def result(printed: bool, message: str, cleaned: bool = True, session: str = "", box: str = "") -> PrintOutcome:
        warnings.extend(s.describe() for s in run.steps if s.category == "Warning")
        return PrintOutcome(printed, printer, tuple(run.steps), message, cleaned, session, box, 0.0, tuple(warnings))

    if not got.ok and printer is None:
        return result(False, "Nothing was printed: the printer's status could not be read.")
    if printer is not None and printer.status == "FAILURE":
        return result(False, f"Nothing was printed: the printer reports FAILURE ({printer.info or 'no details'}).")
    if printer is not None and printer.status == "WARNING":
        warnings.append(f"The printer reports WARNING: {printer.info or 'no details'}")
    if printer is not None and printer.refused:
        warnings.append(f"The printer did not return {', '.join(printer.refused)}")
    session_uid, made, _ = run.create("N-CREATE Basic Film Session", job.session, BasicFilmSession)
    if not made.ok:
        return result(False, "Nothing was printed: the film session was not created.")
    box = Dataset()
    box.update(job.film_box)
    box.ImageDisplayFormat = "STANDARD\\1,1"
    box.ReferencedFilmSessionSequence = [_reference(BasicFilmSession, session_uid)]
    if job.presentation_lut is not None:
        lut_uid, made, _ = run.create("N-CREATE Presentation LUT", job.presentation_lut, PresentationLUT)
        if not made.ok:
            cleaned = run.delete("N-DELETE Basic Film Session", BasicFilmSession, session_uid).ok
            return result(False, "Nothing was printed: the Presentation LUT was not created.", cleaned, session_uid)
        box.ReferencedPresentationLUTSequence = [_reference(PresentationLUT, lut_uid)]
    box_uid, made, attrs = run.create("N-CREATE Basic Film Box", box, BasicFilmBox)
    printed = False
    message = "Nothing was printed: the film box was not created."
    if made.ok:
        boxes = (attrs or Dataset()).get("ReferencedImageBoxSequence") or []
        if len(boxes) != 1:
            message = f"Nothing was printed: the printer made {len(boxes)} image boxes for STANDARD\\1,1, not 1."
        else:
            image_box = boxes[0]
            image_class = image_box.get("ReferencedSOPClassUID") or BasicGrayscaleImageBox
            set_done, _ = run.send("N-SET Basic Grayscale Image Box", lambda msg_id: run.assoc.send_n_set(
                _image_box_set(job), image_class, image_box.ReferencedSOPInstanceUID, msg_id=msg_id,
                meta_uid=BasicGrayscalePrintManagementMeta))
            if not set_done.ok:
                message = "Nothing was printed: the printer did not take the film image."
            else:
                printed = run.send("N-ACTION Print (film box)", lambda msg_id: run.assoc.send_n_action(
                    None, _PRINT_ACTION, BasicFilmBox, box_uid, msg_id=msg_id,
                    meta_uid=BasicGrayscalePrintManagementMeta))[0].ok
                message = "The film was printed." if printed else "Nothing was printed: the print request failed."
        cleaned = run.delete("N-DELETE Basic Film Box", BasicFilmBox, box_uid).ok
    else:
        cleaned = True
    cleaned = run.delete("N-DELETE Basic Film Session", BasicFilmSession, session_uid).ok and cleaned
    if not cleaned:
        message += (" The printer may still hold the film session or box (its N-DELETE failed or was not sent); "
                    "a printer removes them when the association ends.")
    return result(printed, message, cleaned, session_uid, box_uid if made.ok else "")


def printer_status(
    address: Peer, calling_ae_title: str, timeout: float = 30.0
) -> tuple[PrinterState | None, StepOutcome]:
    """N-GET Printer alone, on an association of its own (the settings' Test button): the printer's
    state (None when it could not be read) and the response (PS3.4 H.4.11.1.1).

    Raises
    ------
    AssociationError
        When the association is refused, rejected, aborted or cannot be made.
    """
    probe = FilmJob(np.zeros((1, 1), dtype=np.uint8), 8, Dataset(), Dataset())
    with associated(ScuSettings(calling_ae_title, probe.max_pdu, timeout), address,
                    [BasicGrayscalePrintManagementMeta]) as assoc:
        return _Job(assoc, probe).printer()
