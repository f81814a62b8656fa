"""The default corner text templates (see :mod:`app.imaging.corner_text` for the syntax).

The reference's appendix A (Table A.1) says what its image windows show: in every window the
date and time (Image (Content) Date, else Acquisition, else Series, else Study Date; times
alike) and the patient orientation (drawn at the edges, :mod:`app.imaging.orientation`); for CT
KVP, X-Ray Tube Current, Exposure Time, Slice Thickness, Convolution Kernel, Gantry/Detector
Tilt, Contrast/Bolus Agent and Volume, Reconstruction Diameter, Patient Position and Instance
Number; for MR Sequence Name (else Scanning Sequence), Repetition Time, Echo Time, Number of
Averages, Slice Thickness, Contrast/Bolus Volume, Reconstruction Diameter, Patient Position
and Instance Number. The corners they go in, and the lines for the other modalities (CR, DX,
MG, XA, RF: exposure factors and views), are ours. Enhanced multi-frame images name some of
these attributes differently (Effective Echo Time, X-Ray Tube Current in mA, ...): the
templates list those as fallbacks.
"""

from __future__ import annotations

DATE = "{ContentDate|AcquisitionDate|SeriesDate|StudyDate} {ContentTime|AcquisitionTime|SeriesTime|StudyTime?}"

_PATIENT = (
    "{PatientName}",
    "{PatientID}",
    "{PatientBirthDate?} {PatientSex?}",
)
_STUDY = (
    "{InstitutionName}",
    "{StudyDescription}",
    "{SeriesDescription}",
    DATE,
)
_VIEW = (
    "Se {SeriesNumber}",
    "Im {InstanceNumber}",
    "Frame {FrameNumber}/{NumberOfFrames}",
    "W {WindowWidth:.0f} L {WindowCenter:.0f}",
    "Zoom {Zoom:.2f}",
)
_CROSS_SECTION_VIEW = (
    *_VIEW[:3],
    "FOV {ReconstructionDiameter:.0f} mm",
    "{PatientPosition}",
    *_VIEW[3:],
)
_XRAY = (
    "{KVP:.0f} kV",
    "{XRayTubeCurrent|XRayTubeCurrentInmA:.0f} mA",
    "{Exposure|ExposureInmAs:.4g} mAs",
    "{ExposureTime|ExposureTimeInms:.0f} ms",
)

DEFAULT_LINES: dict[str, dict[str, list[str]]] = {
    "*": {
        "top_left": list(_PATIENT),
        "top_right": list(_STUDY),
        "bottom_left": ["{Modality?} {BodyPartExamined?}"],
        "bottom_right": list(_VIEW),
    },
    "CT": {
        "bottom_left": [
            *_XRAY,
            "ST {SliceThickness:.4g} mm",
            "{ConvolutionKernel}",
            "Tilt {GantryDetectorTilt:.1f}\N{DEGREE SIGN}",
            "C+ {ContrastBolusAgent}",
            "{ContrastBolusVolume:.4g} ml",
        ],
        "bottom_right": list(_CROSS_SECTION_VIEW),
    },
    "MR": {
        "bottom_left": [
            "{SequenceName|ScanningSequence|PulseSequenceName}",
            "TR {RepetitionTime:.5g} ms",
            "TE {EchoTime|EffectiveEchoTime:.5g} ms",
            "NEX {NumberOfAverages:.4g}",
            "Flip {FlipAngle:.0f}\N{DEGREE SIGN}",
            "{MagneticFieldStrength:.1f} T",
            "ST {SliceThickness:.4g} mm",
            "{ContrastBolusVolume:.4g} ml",
        ],
        "bottom_right": list(_CROSS_SECTION_VIEW),
    },
    "CR": {
        "bottom_left": [
            "{BodyPartExamined?} {ViewPosition?}",
            "{KVP:.0f} kV",
            "{Exposure|ExposureInmAs:.4g} mAs",
            "SID {DistanceSourceToDetector:.0f} mm",
        ],
    },
    "MG": {
        "bottom_left": [
            "{ImageLaterality|Laterality?} {ViewPosition?}",
            "{KVP:.0f} kV",
            "{ExposureInmAs|Exposure:.4g} mAs",
            "{AnodeTargetMaterial?} {FilterMaterial?}",
            "{CompressionForce:.0f} N",
            "{BodyPartThickness:.0f} mm",
        ],
    },
    "XA": {
        "bottom_left": [
            *_XRAY,
            "Pri {PositionerPrimaryAngle:.0f}\N{DEGREE SIGN} Sec {PositionerSecondaryAngle:.0f}\N{DEGREE SIGN}",
        ],
    },
}
DEFAULT_LINES["DX"] = DEFAULT_LINES["CR"]
DEFAULT_LINES["RF"] = DEFAULT_LINES["XA"]
