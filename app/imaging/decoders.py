"""The fastest available pixel decoder per transfer syntax (PS3.5 A.4), with fallback.

pydicom 3 decodes each compressed transfer syntax through one of several plugins
(``pydicom.pixels.get_decoder(ts).available_plugins``): gdcm (python-gdcm), pylibjpeg
(pylibjpeg-libjpeg, -openjpeg, -rle), pyjpegls, pillow and pydicom's own RLE decoder.
:data:`PREFERENCE` orders them per syntax by measured decode time; the plugins installed but
not listed are tried after the listed ones, and a plugin that is missing or raises is skipped.

Measured with ``benchmarks/decoder_choice.py`` (results in
``benchmarks/results/decoder_choice.json``; pydicom 3.0.2, python-gdcm 3.2.6,
pylibjpeg-libjpeg 2.5.0, pylibjpeg-openjpeg 2.6.0, pylibjpeg-rle 2.2.0, pyjpegls 1.5.1, Pillow)
on a 2-core machine shared with other work: best of 9 interleaved rounds, wall ms / CPU ms per
frame; CT-like 512 x 512 frames (12 bits in 16; 8 bits for baseline), 2048 x 2048 for JPEG 2000
and HTJ2K. Four runs gave the same order except for JPEG 2000, whose wall times swung by up to
40 % with the load:

=============================  ===========  ===========  ===========  ================
syntax                         gdcm         pylibjpeg    pyjpegls     pillow / pydicom
=============================  ===========  ===========  ===========  ================
JPEG baseline 8-bit            2.0 / 2.0    3.1 / 3.1    -            pillow 1.1 / 1.1
JPEG extended 12-bit           refuses      8.2 / 8.2    -            pillow refuses
JPEG lossless SV1              6.0 / 6.0    17.6 / 13.6  -            -
JPEG lossless process 14       10.6 / 6.5   29.8 / 14.7  -            -
JPEG-LS lossless               7.9 / 7.7    25.1 / 23.8  6.1 / 6.0    -
JPEG-LS near-lossless          8.5 / 8.4    27.1 / 22.9  7.0 / 7.0    -
JPEG 2000 lossless (2048)      711 / 594    945 / 563    -            pillow 1090 / 575
JPEG 2000 lossy (2048)         204 / 185    200 / 132    -            pillow 256 / 160
HTJ2K lossless (2048)          no HTJ2K     128 / 92     -            -
HTJ2K lossy (2048)             no HTJ2K     95 / 71      -            -
RLE lossless                   no RLE       1.3 / 1.3    -            pydicom 8.9 / 5.5
=============================  ===========  ===========  ===========  ================

The three JPEG 2000 decoders are all OpenJPEG: pylibjpeg needs the least CPU (the steadier
measure under load) and is pydicom's default; GDCM comes next because it also reads the YBR_RCT
codestreams Pillow refuses. The uncompressed and deflated syntaxes have no plugin (pydicom inflates deflated data sets
when it reads them, PS3.5 A.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import (
    HTJ2K,
    JPEG2000,
    UID,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from app.core.errors import DicomInputError

_J2K = ("pylibjpeg", "gdcm", "pillow")

#: Decoder plugins per compressed transfer syntax, fastest first (measured, see the module docstring).
PREFERENCE: dict[str, tuple[str, ...]] = {
    JPEGBaseline8Bit: ("pillow", "gdcm", "pylibjpeg"),
    # GDCM and Pillow refuse 12-bit extended frames; they still read 8-bit ones
    JPEGExtended12Bit: ("pylibjpeg", "pillow", "gdcm"),
    JPEGLossless: ("gdcm", "pylibjpeg"),
    JPEGLosslessSV1: ("gdcm", "pylibjpeg"),
    JPEGLSLossless: ("pyjpegls", "gdcm", "pylibjpeg"),
    JPEGLSNearLossless: ("pyjpegls", "gdcm", "pylibjpeg"),
    JPEG2000Lossless: _J2K,
    JPEG2000: _J2K,
    HTJ2KLossless: ("pylibjpeg",),
    HTJ2KLosslessRPCL: ("pylibjpeg",),
    HTJ2K: ("pylibjpeg",),
    RLELossless: ("pylibjpeg", "pydicom"),
}


@dataclass(frozen=True, eq=False)
class DecodedFrame:
    """One decoded frame, the photometric interpretation of its values and the plugin that decoded it.

    ``plugin`` is empty for the uncompressed and deflated syntaxes, which need none.
    """

    array: np.ndarray
    photometric: str
    plugin: str


def plugin_order(ts: str, available: Sequence[str], preference: Sequence[str] | None = None) -> list[str]:
    """The plugins to try for ``ts``: the preferred ones first, then the other available ones.

    Parameters
    ----------
    ts
        Transfer Syntax UID.
    available
        The installed plugins (``get_decoder(ts).available_plugins``).
    preference
        An ordered list of plugin names; default :data:`PREFERENCE` for ``ts``. Names that are
        not available are left out.
    """
    wanted = PREFERENCE.get(ts, ()) if preference is None else preference
    first = [name for name in wanted if name in available]
    return first + [name for name in available if name not in first]


def decode(ds: Dataset, ts: UID, index: int, preference: Sequence[str] | None = None) -> DecodedFrame:
    """Decode frame ``index`` (0-based) of ``ds`` with the first plugin of :func:`plugin_order` that works.

    Colour frames come back as RGB where the plugin can convert them (``as_rgb``), as
    ``pydicom.pixels.Decoder.as_array`` does.

    Raises
    ------
    DicomInputError
        When no plugin is installed for the syntax, or every one of them failed; the message
        lists each plugin's error.
    """
    decoder = get_decoder(ts)
    if decoder.is_native:
        arr, meta = decoder.as_array(ds, index=index, as_rgb=True)  # type: ignore[arg-type]
        return DecodedFrame(arr, str(meta.get("photometric_interpretation", "")), "")
    order = plugin_order(ts, decoder.available_plugins, preference)
    failures: list[str] = []
    for plugin in order:
        try:
            arr, meta = decoder.as_array(ds, index=index, as_rgb=True, decoding_plugin=plugin)  # type: ignore[arg-type]
        except Exception as exc:  # plugins raise many kinds (RuntimeError, ValueError, NotImplementedError)
            message = str(exc).strip()
            failures.append(f"{plugin}: {message.splitlines()[-1] if message else type(exc).__name__}")
            continue
        return DecodedFrame(arr, str(meta.get("photometric_interpretation", "")), plugin)
    if not order:
        raise DicomInputError(
            f"No decoder is installed for {ts.name} ({ts}); install python-gdcm or the pylibjpeg plugins "
            "(pylibjpeg-libjpeg, -openjpeg, -rle) or pyjpegls."
        )
    raise DicomInputError(
        f"Cannot decode frame {index + 1} ({ts.name}): every decoder failed ({'; '.join(failures)}). "
        "The pixel data may be damaged."
    )
