"""Transfer syntaxes Lightbox accepts, in the order it prefers them.

The order follows the reference's Table 2.7 (lossless compression first, then the
uncompressed syntaxes, then lossy ones), with the syntaxes standardised since
(JPEG-LS, deflate, HTJ2K) next to their kin. As acceptor we pick, for each proposed
presentation context, the first syntax of this list that the requestor proposed.
"""

from __future__ import annotations

from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

#: Uncompressed syntaxes: the only ones offered for Verification and for DIMSE-only services.
UNCOMPRESSED: tuple[UID, ...] = (ExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian)

#: Every syntax the Storage SCP accepts, most preferred first.
STORAGE_PREFERENCE: tuple[UID, ...] = (
    JPEG2000Lossless,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    DeflatedExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    HTJ2K,
    JPEGLSNearLossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
)

#: Syntaxes whose pixel data are lossy: a viewer marks such images.
LOSSY: frozenset[UID] = frozenset({JPEG2000, HTJ2K, JPEGLSNearLossless, JPEGBaseline8Bit, JPEGExtended12Bit})
